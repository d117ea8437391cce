"""A simulated reader: one day of correct clicks, then the next day's nDCG@10.

Usage: python bench/relevance/feedback.py [--per-profile] [--model wordllama]

Per judged profile (bench/relevance/judgments.json): day one is what `digest preview` shows
(``pipeline.preview``, ten papers). The reader clicks "more" on each shown paper judged
relevant (grade 1 or 2) and "less" on each judged 0, through ``store.feedback.record_feedback``
(what the email's links call). Day one is recorded as planning records it, so day two ranks as
a run would: without the papers already sent (a run never sends a paper twice, and the per-topic
cap then fills their slots with others). nDCG@10 is computed over the papers not yet sent,
before and after the clicks (and each profile's seed trust after them, see rank.seed_trust).
The goal: +0.05 on average, and no profile losing more than 0.08. The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import sys
import tempfile
from typing import Any

from evaluate import HERE, NOW, K, Preview, load_papers, ndcg, profile_of

from digest.models import Paper
from digest.pipeline.digests import preview, ranking_context
from digest.pipeline.embed_job import embedder_of
from digest.rank.embeddings import DEFAULT_MODEL
from digest.rank.seed_trust import seed_trust
from digest.store import subscribers
from digest.store.feedback import record_feedback
from digest.store.planning import PlannedDelivery, record_planned_many


def record_sent(bench: Preview, address: str, subscriber_id: int) -> list[Paper]:
    """Day one as planning leaves it (its delivery holds the papers shown: never sent again);
    the papers shown."""
    digest, _ = preview(bench.service, address, NOW.date(), now=NOW, limit=K)
    plan = PlannedDelivery(
        subscriber_id=subscriber_id,
        date=NOW.date() - dt.timedelta(days=1),
        kind="digest",
        picks=digest.picks,
        overflow=(),
        themes=(),
        message_id=f"<bench-{subscriber_id}@example.org>",
    )
    with bench.service.db.session() as session:
        record_planned_many(session, [plan], now=NOW, editions={})
    return [pick.paper for pick in digest.picks]


def next_day(bench: Preview, address: str) -> list[str]:
    return [bench.key(p) for p in bench.shown(address, K)]


def simulate(bench: Preview, spec: dict[str, Any]) -> dict[str, Any]:
    address, subscriber_id = bench.subscribe(profile_of(spec))
    day_one = record_sent(bench, address, subscriber_id)
    grades = {k: g for k, g in spec["grades"].items() if k not in {bench.key(p) for p in day_one}}
    before = ndcg(next_day(bench, address), grades)
    embedder = embedder_of(bench.service)
    with bench.service.db.session() as session:
        for paper in day_one:
            direction = "more" if spec["grades"].get(bench.key(paper), 0) > 0 else "less"
            record_feedback(session, subscriber_id, paper.id, direction, now=NOW, embedder=embedder)
    after = ndcg(next_day(bench, address), grades)
    with bench.service.db.session() as session:
        profile = subscribers.to_subscriber(subscribers.get_row(session, address)).profile
    trust = seed_trust(profile, ranking_context(bench.service, NOW.date()).index, ())
    return {
        "profile": spec["name"],
        "split": spec["split"],
        "before": round(before, 4),
        "after": round(after, 4),
        "change": round(after - before, 4),
        "seed_trust": round(trust, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-profile", action="store_true", help="one line per profile")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="DIGEST_EMBEDDING_MODEL to test")
    args = parser.parse_args()
    judged = json.loads((HERE / "judgments.json").read_text())["profiles"]
    with tempfile.TemporaryDirectory(prefix="digest-feedback-") as workdir:
        bench = Preview(load_papers(), args.model, pathlib.Path(workdir))
        rows = [simulate(bench, spec) for spec in judged]
    result: dict[str, Any] = {"profiles": len(rows)}
    for split in ("all", "tune", "heldout"):
        chosen = [r for r in rows if split == "all" or r["split"] == split]
        result[f"before_{split}"] = round(sum(r["before"] for r in chosen) / len(chosen), 4)
        result[f"after_{split}"] = round(sum(r["after"] for r in chosen) / len(chosen), 4)
        result[f"mean_change_{split}"] = round(sum(r["change"] for r in chosen) / len(chosen), 4)
        result[f"worst_change_{split}"] = min(r["change"] for r in chosen)
    if args.per_profile:
        for row in rows:
            print(json.dumps(row), file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
