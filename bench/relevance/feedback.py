"""A simulated reader: one day of correct clicks, then the next day's nDCG@10.

Usage: python bench/relevance/feedback.py [--per-profile] [--model wordllama]

Per judged profile (bench/relevance/judgments.json): day one is what `digest preview` shows
(``pipeline.preview``, ten papers). The reader clicks "more" on each shown paper judged
relevant (grade 1 or 2) and "less" on each judged 0, through ``store.feedback.record_feedback``
(what the email's links call). Day two ranks again; the papers already sent are dropped, and
nDCG@10 is computed over the papers not yet sent, before and after the clicks. The goal: +0.05
on average, and no profile losing more than 0.08. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
from typing import Any

from evaluate import HERE, NOW, K, Preview, load_papers, ndcg, profile_of

from digest.pipeline.embed_job import embedder_of
from digest.rank.embeddings import DEFAULT_MODEL
from digest.store.feedback import record_feedback


def next_day(bench: Preview, address: str, sent: set[int]) -> list[str]:
    shown = bench.shown(address, K + len(sent))
    return [bench.key(p) for p in shown if p.id not in sent][:K]


def simulate(bench: Preview, spec: dict[str, Any]) -> dict[str, Any]:
    address, subscriber_id = bench.subscribe(profile_of(spec))
    day_one = bench.shown(address, K)
    sent = {p.id for p in day_one}
    grades = {k: g for k, g in spec["grades"].items() if k not in {bench.key(p) for p in day_one}}
    before = ndcg(next_day(bench, address, sent), grades)
    embedder = embedder_of(bench.service)
    with bench.service.db.session() as session:
        for paper in day_one:
            direction = "more" if spec["grades"].get(bench.key(paper), 0) > 0 else "less"
            record_feedback(session, subscriber_id, paper.id, direction, now=NOW, embedder=embedder)
    after = ndcg(next_day(bench, address, sent), grades)
    return {
        "profile": spec["name"],
        "split": spec["split"],
        "before": round(before, 4),
        "after": round(after, 4),
        "change": round(after - before, 4),
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
