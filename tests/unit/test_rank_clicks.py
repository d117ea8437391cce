"""The per-reader model on paper embeddings: trained from ratings, blended by their number."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from digest.models import Paper, Profile, Topic
from digest.rank import build_index, rank
from digest.rank.clicks import MIN_RATINGS, taste_share, train_taste
from digest.rank.embeddings import load_embedder, paper_text

NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "relevance" / "papers.json"


def bench_papers() -> list[Paper]:
    data = json.loads(BENCH.read_text("utf-8"))
    return [Paper(n, item["id"], item["title"], item["abstract"]) for n, item in enumerate(data, 1)]


def test_the_share_grows_with_ratings_and_starts_at_min_ratings() -> None:
    shares = [taste_share(n) for n in range(MIN_RATINGS - 1, 30)]
    assert shares[0] == 0.0
    assert all(a < b for a, b in zip(shares[1:], shares[2:], strict=False))


def test_one_rating_teaches_nothing_yet() -> None:
    one = np.full((1, 4), 0.5, dtype=np.float32)
    assert train_taste("m", one, one[:0], one) is None


def test_a_liked_papers_neighbours_rise_above_the_papers_rated_less() -> None:
    papers = bench_papers()
    embedder = load_embedder("wordllama")
    assert embedder is not None
    vectors = embedder.embed([paper_text(p.title, p.abstract) for p in papers])
    index = build_index(papers, vectors, embedder)
    liked = [i for i, p in enumerate(papers) if "metamorphic" in p.title.lower()][:3]
    disliked = [i for i, p in enumerate(papers) if "group testing" in p.title.lower()][:3]
    background = vectors[::8]
    taste = train_taste(embedder.name, vectors[liked], vectors[disliked], background)
    assert taste is not None and taste.ratings == 6
    profile = Profile(topics=(Topic("testing"),), trending=0.0)
    plain = rank(profile, index, {}, now=NOW)
    learnt = rank(Profile(topics=profile.topics, trending=0.0, learnt=taste), index, {}, now=NOW)
    after = {p.paper.id: p.relevance for p in learnt}
    before = {p.paper.id: p.relevance for p in plain}

    def kept(word: str) -> float:
        """Mean share of its relevance a paper with ``word`` in its title (not rated) keeps."""
        found = [p.id for p in papers if word in p.title.lower()][3:]
        return float(np.mean([after[i] / before[i] for i in found if i in before]))

    assert kept("metamorphic") > kept("group testing")
