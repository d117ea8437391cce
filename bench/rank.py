"""Ranking many subscribers against one day's papers, beside a TF-IDF sparse-product floor.

Usage: python bench/rank.py [--subscribers 100000] [--papers 2000] [--sample 300]

Papers are the judged bench papers (bench/relevance/papers.json) repeated with fresh ids up to
--papers, with their authors and categories and a fresh arXiv id each. The topic vocabulary is
every 2- and 3-word run of content words in those titles plus the judged profiles' topics (a
few thousand phrases), drawn with a Zipf distribution (a few topics are very popular, most
are rare). Each subscriber has 1-5 topics (some weighted), and some have an exclusion,
followed authors, categories, an excluded category, seeds, a trending dial and papers already
sent to them.

The full model is :func:`digest.rank.digests_many` over every subscriber: relevance (BM25F
fused with the default embedding model's semantic scores, and a learnt click model for the
readers who rated papers), trending, the diversity cap, "+N more" counts and reasons, exactly
what the pipeline needs to plan each email (the index build and embedding every distinct topic
are included; the papers' vectors are made at ingest, so their embedding is timed apart, as
papers/s, with the model's memory). ``identical`` checks --sample subscribers spread over the
run against ``choose_for_digest(rank(...))``, the single-subscriber path ``digest preview``
uses. The floor is a plain TF-IDF sparse product with top-10 for every subscriber, in chunks,
measured in the same run. Peak memory is this process's maximum resident set size.
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

from digest.models import LearntTaste, Paper, Profile, Topic, TrendSignal
from digest.rank import build_index, choose_for_digest, digests_many, rank
from digest.rank.arrays import Embeddings
from digest.rank.clicks import train_taste
from digest.rank.embeddings import DEFAULT_MODEL, Embedder, load_embedder, paper_text
from digest.rank.text import STOP_WORDS, stems

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "relevance"))

from evaluate import NOW, load_papers  # noqa: E402

ZIPF_EXPONENT = 1.07
CATEGORIES = ("cs.LG", "cs.CL", "cs.AI", "cs.CV", "stat.ML", "q-bio.NC", "cs.RO", "math.OC")


def make_papers(count: int) -> list[Paper]:
    base = load_papers()
    return [
        Paper(
            id=i + 1,
            key=f"p{i}",
            title=base[i % len(base)].title,
            abstract=base[i % len(base)].abstract,
            authors=base[i % len(base)].authors,
            categories=base[i % len(base)].categories,
            arxiv_id=f"2611.{i:05d}",
        )
        for i in range(count)
    ]


def topic_vocabulary(papers: list[Paper]) -> list[str]:
    judged = json.loads((HERE / "relevance" / "judgments.json").read_text())["profiles"]
    pool = {t for p in judged for t in p["topics"]}
    for paper in {p.title: p for p in papers}.values():
        words = [w.strip(":,.()?!'\"").lower() for w in paper.title.split()]
        words = [w for w in words if len(w) > 2 and w not in STOP_WORDS]
        for n in (2, 3):
            pool.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return sorted(pool)


def make_profiles(count: int, papers: list[Paper], rng: random.Random) -> list[Profile]:
    vocabulary = topic_vocabulary(papers)
    rng.shuffle(vocabulary)
    popularity = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(vocabulary))]
    authors = sorted({a for p in papers for a in p.authors})
    categories = sorted({c for p in papers for c in p.categories}) or list(CATEGORIES)
    profiles = []
    for _ in range(count):
        texts = list(dict.fromkeys(rng.choices(vocabulary, popularity, k=rng.randint(1, 5))))
        seeds = [rng.choice(papers).arxiv_id or ""] if rng.random() < 0.03 else []
        profiles.append(
            Profile(
                topics=tuple(Topic(t, rng.choice((1.0, 1.0, 1.0, 0.5, 2.0))) for t in texts),
                exclude=tuple(rng.choices(vocabulary, popularity)) if rng.random() < 0.2 else (),
                authors=tuple(rng.sample(authors, rng.randint(1, 2))) if rng.random() < 0.1 else (),
                categories=(rng.choice(categories),) if rng.random() < 0.1 else (),
                exclude_categories=(rng.choice(categories),) if rng.random() < 0.05 else (),
                seeds=tuple(seeds),
                trending=rng.choice((0.0, 0.2, 0.2, 0.5)),
                min_score=rng.choice((0.0, 0.0, 0.0, 0.2)),
            )
        )
    return profiles


def embed_papers(papers: list[Paper]) -> tuple[Embedder, Embeddings, dict[str, float]]:
    """The default model loaded and every paper embedded, with throughput and memory."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    embedder = load_embedder(DEFAULT_MODEL)
    assert embedder is not None
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    vectors = embedder.embed([paper_text(p.title, p.abstract) for p in papers])
    seconds = time.perf_counter() - start
    return (
        embedder,
        vectors,
        {
            "embed_papers_per_second": round(len(papers) / seconds),
            "model_rss_mb": round(loaded - before),
        },
    )


def with_tastes(
    profiles: list[Profile], embedder: Embedder, vectors: Embeddings, rng: random.Random
) -> list[Profile]:
    """About 3% of readers rated 2-20 papers; each gets the model the click path would train."""
    chosen = []
    for profile in profiles:
        taste: LearntTaste | None = None
        if rng.random() < 0.03:
            rated = rng.sample(range(len(vectors)), rng.randint(2, 20))
            liked, disliked = rated[: max(len(rated) // 2, 1)], rated[max(len(rated) // 2, 1) :]
            background = vectors[rng.sample(range(len(vectors)), 40)]
            taste = train_taste(embedder.name, vectors[liked], vectors[disliked], background)
        chosen.append(Profile(**{**profile.__dict__, "learnt": taste}) if taste else profile)
    return chosen


def make_signals(papers: list[Paper], rng: random.Random) -> dict[int, TrendSignal]:
    return {
        p.id: TrendSignal(rng.randint(1, 3), rng.randint(0, 5), float(rng.randint(0, 40)))
        for p in papers
        if rng.random() < 0.3
    }


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
    embedder, vectors, embedding = embed_papers(papers)
    profiles = with_tastes(make_profiles(args.subscribers, papers, rng), embedder, vectors, rng)
    signals = make_signals(papers, rng)
    ids = [p.id for p in papers]
    sent = [set(rng.sample(ids, rng.randint(0, 20))) for _ in profiles]
    floor_seconds = floor(papers, profiles)
    step = max(len(profiles) // max(args.sample, 1), 1)
    sample = set(range(0, len(profiles), step)[: args.sample])
    kept = {}
    start = time.perf_counter()
    index = build_index(papers, vectors, embedder)
    shown = 0
    for i, digest in enumerate(
        digests_many(profiles, index, signals, now=NOW, exclude_paper_ids=sent)
    ):
        shown += len(digest[0])
        if i in sample:
            kept[i] = digest
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    identical = all(
        kept[i]
        == choose_for_digest(
            rank(profiles[i], index, signals, now=NOW, exclude_paper_ids=sent[i]),
            profiles[i].per_digest,
        )
        for i in sorted(sample)
    )
    print(
        json.dumps(
            {
                "subscribers": args.subscribers,
                "papers": args.papers,
                "seconds": round(seconds, 1),
                "floor_seconds": round(floor_seconds, 2),
                "vs_floor": round(seconds / floor_seconds, 1),
                "peak_mb": round(peak_mb),
                "identical": identical,
                "identical_checked": len(sample),
                "distinct_topics": len({t.text for p in profiles for t in p.topics}),
                "readers_with_learnt_taste": sum(p.learnt is not None for p in profiles),
                "embedding_model": embedder.name,
                **embedding,
                "picks_shown": shown,
            }
        )
    )


if __name__ == "__main__":
    main()
