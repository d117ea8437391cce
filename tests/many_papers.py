"""A window of thousands of stored papers, built through the real store in seconds.

The texts are the judged bench papers (bench/relevance/papers.json), repeated with fresh arXiv
ids and a number in the title, announced over the two weeks before ``now``: what a busy
deployment's topic pages rank.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from digest.models import FeedItem
from digest.rank.embeddings import DEFAULT_MODEL, load_embedder
from digest.store import embeddings, papers
from digest.store.db import Database

BENCH_PAPERS = Path(__file__).resolve().parents[1] / "bench" / "relevance" / "papers.json"


def bench_texts() -> list[dict[str, object]]:
    loaded: list[dict[str, object]] = json.loads(BENCH_PAPERS.read_text("utf-8"))
    return loaded


def store_many_papers(database_url: str, count: int, *, now: dt.datetime) -> None:
    """``count`` papers announced over the 14 days up to ``now``, stored as one feed and
    embedded with the bundled model, as ingest leaves them."""
    texts = bench_texts()
    items = []
    for number in range(count):
        text = texts[number % len(texts)]
        items.append(
            FeedItem(
                title=f"{text['title']} ({number})",
                abstract=str(text["abstract"]),
                authors=tuple(str(a) for a in text["authors"]),  # type: ignore[attr-defined]
                categories=tuple(str(c) for c in text["categories"]),  # type: ignore[attr-defined]
                arxiv_id=f"2604.{number:05d}",
                published=now - dt.timedelta(hours=number % 330),
            )
        )
    db = Database(database_url)
    try:
        with db.session() as session:
            papers.merge_feed_items(session, "bench", items, now=now)
        embedder = load_embedder(DEFAULT_MODEL)
        assert embedder is not None
        with db.session() as session:
            ids = embeddings.unembedded_paper_ids(session, embedder.name, count)
            found = papers.papers_by_ids(session, ids)
            embeddings.store_vectors(session, [found[i] for i in ids], embedder, now=now)
    finally:
        db.dispose()


def random_topics(seed: int) -> list[str]:
    """An endless-enough supply of different two-word topics from the bench titles."""
    words = sorted(
        {
            w.strip(":,.()?!'\"").lower()
            for t in bench_texts()
            for w in str(t["title"]).split()
            if len(w) > 3
        }
    )
    rng = random.Random(seed)
    return [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(2000)]
