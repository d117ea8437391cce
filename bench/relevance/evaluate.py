"""nDCG@10 and recall@20 of digest's ranker beside plain BM25 on the hand-judged set.

Usage: python bench/relevance/evaluate.py [--per-profile]

Each profile is what `digest subscribers add --topic ... --exclude ...` would store (defaults
for everything else), ranked by ``pipeline.preview`` (what `digest preview` and the email run)
over the judged papers stored in a scratch SQLite database: once with the embedding model
(default wordllama, or --model) and once with DIGEST_EMBEDDING_MODEL=none (the lexical BM25F
ranking alone, "lexical_"). The baseline is Okapi BM25 (k1 1.2, b 0.75) over title + abstract
with the same tokens and stems, the topics' words as one bag, and no exclusions; "blend_" is
the plain fusion the issue measured outside (BM25 and the embedding model's mean topic cosine,
min-max normalised, equal weights), the stronger of the two plain baselines. Figures are
given for all profiles, the "tune" half and the "heldout" half; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import pathlib
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from digest.config import Settings
from digest.models import FeedItem, Paper, Profile, Topic
from digest.pipeline import preview
from digest.rank.embeddings import DEFAULT_MODEL, load_embedder, paper_text
from digest.rank.text import stems
from digest.service import Service
from digest.store.db import Database
from digest.store.paper_merge import merge_feed_items
from digest.store.subscribers import upsert_subscriber

HERE = pathlib.Path(__file__).resolve().parent
NOW = dt.datetime(2026, 8, 6, tzinfo=dt.UTC)
K = 10
RECALL_AT = 20


def load_papers() -> list[Paper]:
    data = json.loads((HERE / "papers.json").read_text())
    return [
        Paper(
            id=number,
            key=item["id"],
            title=item["title"],
            abstract=item["abstract"],
            authors=tuple(item["authors"]),
            categories=tuple(item["categories"]),
            arxiv_id=item["id"] if item["id"][:1].isdigit() and "/" not in item["id"] else None,
            doi=item["id"] if item["id"].startswith("10.") else None,
        )
        for number, item in enumerate(data, start=1)
    ]


def ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = K) -> float:
    """Linear-gain nDCG@k (trec_eval's ndcg_cut); the ideal ranks every judged paper."""
    dcg = sum(grades.get(key, 0) / math.log2(i + 2) for i, key in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: Sequence[str], grades: Mapping[str, int], k: int = RECALL_AT) -> float:
    relevant = {key for key, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


class Bm25:
    """Plain Okapi BM25 over title + abstract: the baseline the issue names."""

    def __init__(self, papers: Sequence[Paper], k1: float = 1.2, b: float = 0.75) -> None:
        self.papers = papers
        self.k1, self.b = k1, b
        self.docs = [Counter(stems(f"{p.title} {p.abstract}")) for p in papers]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.average = sum(self.lengths) / max(len(self.docs), 1)
        self.df: Counter[str] = Counter()
        for doc in self.docs:
            self.df.update(doc.keys())

    def scores(self, query: str) -> list[float]:
        """Each paper's BM25 score for ``query`` (0 where no query term occurs)."""
        terms = set(stems(query))
        n = len(self.docs)
        scores = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            score = 0.0
            for term in terms & doc.keys():
                idf = math.log(1 + (n - self.df[term] + 0.5) / (self.df[term] + 0.5))
                tf = doc[term]
                norm = self.k1 * (1 - self.b + self.b * length / self.average)
                score += idf * tf * (self.k1 + 1) / (tf + norm)
            scores.append(score)
        return scores

    def rank(self, query: str) -> list[str]:
        scored = [
            (-score, paper.id, paper.key)
            for paper, score in zip(self.papers, self.scores(query), strict=True)
            if score > 0
        ]
        return [key for _, _, key in sorted(scored)]


class Blend:
    """The plain fusion the issue measured on the outside set: BM25 and the embedding model's
    mean topic cosine, each min-max normalised over the papers, added with equal weight."""

    def __init__(self, bm25: Bm25, model: str) -> None:
        embedder = load_embedder(model)
        if embedder is None:
            raise SystemExit(f"no embedding model {model!r} to blend with")
        self.bm25, self.embedder = bm25, embedder
        self.vectors = embedder.embed([paper_text(p.title, p.abstract) for p in bm25.papers])

    def rank(self, topics: Sequence[str]) -> list[str]:
        lexical = np.asarray(self.bm25.scores(" ".join(topics)))
        meaning = (self.vectors @ self.embedder.embed(list(topics)).T).mean(axis=1)
        fused = _min_max(lexical) + _min_max(meaning)
        return [self.bm25.papers[i].key for i in np.argsort(-fused, kind="stable")]


def _min_max(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min())
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values)


class Preview:
    """The judged papers in a scratch SQLite database, ranked by ``pipeline.preview``: the
    function behind `digest preview EMAIL` (and the email), under one embedding model."""

    def __init__(self, papers: Sequence[Paper], model: str, workdir: pathlib.Path) -> None:
        url = f"sqlite:///{workdir / ('bench-' + model.replace(':', '_') + '.db')}"
        Database(url).upgrade()
        self.service = Service.open(
            Settings(
                database_url=url,
                outbox_dir=workdir / "outbox",
                secret_key="bench",
                complete_metadata=False,
                embedding_model=model,
            )
        )
        items = [
            FeedItem(
                title=p.title,
                abstract=p.abstract,
                authors=p.authors,
                categories=p.categories,
                arxiv_id=f"bench.{p.id:05d}",  # the position maps back to papers.json
                published=NOW - dt.timedelta(hours=1),
            )
            for p in papers
        ]
        with self.service.db.session() as session:
            merge_feed_items(session, "bench", items, now=NOW)
        self.keys = {f"bench.{p.id:05d}": p.key for p in papers}
        self.count = 0

    def subscribe(self, profile: Profile) -> tuple[str, int]:
        """A new confirmed subscriber with the profile's topics and exclusions: (address, id)."""
        self.count += 1
        address = f"reader{self.count}@example.org"
        with self.service.db.session() as session:
            row, _ = upsert_subscriber(
                session,
                address,
                now=NOW,
                state="confirmed",
                profile_changes={"topics": profile.topics, "exclude": profile.exclude},
            )
            return address, row.id

    def shown(self, address: str, size: int) -> list[Paper]:
        """The papers `digest preview ADDRESS` shows, in order."""
        digest, _ = preview(self.service, address, NOW.date(), now=NOW, limit=size)
        return [pick.paper for pick in digest.picks]

    def key(self, paper: Paper) -> str:
        return self.keys[str(paper.arxiv_id)]

    def ranked(self, profile: Profile, size: int) -> list[str]:
        address, _ = self.subscribe(profile)
        return [self.key(paper) for paper in self.shown(address, size)]


def profile_of(spec: Mapping[str, Any]) -> Profile:
    return Profile(topics=tuple(Topic(t) for t in spec["topics"]), exclude=tuple(spec["exclude"]))


def evaluate(per_profile: bool, model: str, workdir: pathlib.Path) -> dict[str, Any]:
    papers = load_papers()
    judged = json.loads((HERE / "judgments.json").read_text())["profiles"]
    bm25 = Bm25(papers)
    blend = Blend(bm25, DEFAULT_MODEL if model == "none" else model)
    ours, lexical = Preview(papers, model, workdir), Preview(papers, "none", workdir)
    rows = []
    for spec in judged:
        grades = spec["grades"]
        profile = profile_of(spec)
        baseline = bm25.rank(" ".join(spec["topics"]))
        old = lexical.ranked(profile, K)
        row = {
            "profile": spec["name"],
            "split": spec["split"],
            "ndcg10": round(ndcg(ours.ranked(profile, K), grades), 4),
            "recall20": round(recall(ours.ranked(profile, RECALL_AT), grades), 4),
            "lexical_ndcg10": round(ndcg(old, grades), 4),
            "bm25_ndcg10": round(ndcg(baseline, grades), 4),
            "bm25_recall20": round(recall(baseline, grades), 4),
            "blend_ndcg10": round(ndcg(blend.rank(spec["topics"]), grades), 4),
        }
        rows.append(row)
        if per_profile:
            print(json.dumps(row), file=sys.stderr)
    result: dict[str, Any] = {"papers": len(papers), "profiles": len(rows)}
    for split in ("all", "tune", "heldout"):
        chosen = [r for r in rows if split == "all" or r["split"] == split]
        metrics = ("ndcg10", "recall20", "lexical_ndcg10", "bm25_ndcg10", "bm25_recall20")
        for metric in (*metrics, "blend_ndcg10"):
            value = sum(r[metric] for r in chosen) / len(chosen)
            result[f"{metric}_{split}"] = round(value, 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-profile", action="store_true", help="one line per profile")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="DIGEST_EMBEDDING_MODEL to test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="digest-relevance-") as workdir:
        print(json.dumps(evaluate(args.per_profile, args.model, pathlib.Path(workdir))))


if __name__ == "__main__":
    main()
