"""Ranking many subscribers against one day's papers, beside a TF-IDF sparse-product floor.

Usage: python bench/rank.py [--subscribers 100000] [--papers 2000] [--sample 300]

Papers are the judged bench papers (bench/relevance/papers.json) repeated with fresh ids up to
--papers; subscribers draw 1-4 topics and 0-1 exclusions from a pool of real topic phrases
(the bench profiles plus title bigrams). The floor is a plain TF-IDF sparse product with
top-10 for every subscriber, in chunks. The full model (digest.rank.rank + choose_for_digest,
the path `digest preview` uses) has no batch API yet, so it runs on --sample subscribers and
its time is extrapolated to all of them; the JSON says so ("extrapolated": true).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp

from digest.models import Paper, Profile, Topic
from digest.rank import build_index, choose_for_digest, rank
from digest.rank.text import stems

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "relevance"))

from evaluate import NOW, load_papers  # noqa: E402


def make_papers(count: int) -> list[Paper]:
    base = load_papers()
    return [
        Paper(
            id=i + 1,
            key=f"p{i}",
            title=base[i % len(base)].title,
            abstract=base[i % len(base)].abstract,
        )
        for i in range(count)
    ]


def topic_pool(papers: list[Paper]) -> list[str]:
    judged = json.loads((HERE / "relevance" / "judgments.json").read_text())["profiles"]
    pool = {t for p in judged for t in p["topics"]}
    for paper in papers[:400]:
        words = [w for w in paper.title.replace(":", " ").split() if len(w) > 3]
        pool.update(" ".join(words[i : i + 2]).lower() for i in range(0, len(words) - 1, 2))
    return sorted(pool)


def make_profiles(count: int, pool: list[str], rng: random.Random) -> list[Profile]:
    return [
        Profile(
            topics=tuple(Topic(t) for t in rng.sample(pool, rng.randint(1, 4))),
            exclude=tuple(rng.sample(pool, rng.randint(0, 1))),
        )
        for _ in range(count)
    ]


def floor(papers: list[Paper], profiles: list[Profile], chunk: int = 5000) -> float:
    """TF-IDF (log tf, idf, L2) papers × query sparse product, top-10 per subscriber."""
    start = time.perf_counter()
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for doc, paper in enumerate(papers):
        for term in set(stems(f"{paper.title} {paper.abstract}")):
            rows.append(doc)
            cols.append(vocab.setdefault(term, len(vocab)))
    matrix = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), (len(papers), len(vocab))
    )
    df = np.asarray((matrix > 0).sum(axis=0)).ravel()
    idf = np.log(len(papers) / np.maximum(df, 1)).astype(np.float32)
    matrix = sp.csr_matrix(matrix.multiply(idf))
    q_rows, q_cols = [], []
    for i, profile in enumerate(profiles):
        for term in {s for t in profile.topics for s in stems(t.text)}:
            if term in vocab:
                q_rows.append(i)
                q_cols.append(vocab[term])
    queries = sp.csr_matrix(
        (np.ones(len(q_rows), np.float32), (q_rows, q_cols)), (len(profiles), len(vocab))
    )
    for lo in range(0, len(profiles), chunk):
        scores = (queries[lo : lo + chunk] @ matrix.T).toarray()
        np.argpartition(-scores, 10, axis=1)[:, :10]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(5)
    papers = make_papers(args.papers)
    profiles = make_profiles(args.subscribers, topic_pool(papers), rng)
    floor_seconds = floor(papers, profiles)
    start = time.perf_counter()
    index = build_index(papers)
    build_seconds = time.perf_counter() - start
    sample = profiles[: args.sample]
    start = time.perf_counter()
    for profile in sample:
        choose_for_digest(rank(profile, index, {}, now=NOW), profile.per_digest)
    per_subscriber = (time.perf_counter() - start) / len(sample)
    seconds = build_seconds + per_subscriber * args.subscribers
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "subscribers": args.subscribers,
                "papers": args.papers,
                "seconds": round(seconds, 1),
                "floor_seconds": round(floor_seconds, 2),
                "vs_floor": round(seconds / floor_seconds, 1),
                "peak_mb": round(peak_mb),
                "identical": None,  # no batch path exists yet: nothing to compare
                "extrapolated": True,
                "measured_subscribers": len(sample),
                "ms_per_subscriber": round(per_subscriber * 1000, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
