"""Seed trust: the "more like this" boost a reader gets follows how well nearness to their own
liked papers predicts their own ratings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from digest.models import Paper, Profile, Topic
from digest.rank import build_index, rank
from digest.rank.seed_trust import seed_trust

NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "relevance" / "papers.json"


def bench_papers() -> list[Paper]:
    data = json.loads(BENCH.read_text("utf-8"))
    return [
        Paper(n, f"p{n}", item["title"], item["abstract"], arxiv_id=f"2601.{n:05d}")
        for n, item in enumerate(data, 1)
    ]


def titled(papers: list[Paper], word: str) -> list[Paper]:
    return [p for p in papers if word in p.title.lower()]


def seeds(liked: list[Paper], disliked: list[Paper]) -> tuple[str, ...]:
    return tuple(str(p.arxiv_id) for p in liked) + tuple(f"-{p.arxiv_id}" for p in disliked)


def test_alike_likes_unlike_the_dislikes_are_trusted_fully() -> None:
    papers = bench_papers()
    index = build_index(papers)
    liked = titled(papers, "metamorphic")[:4]
    disliked = titled(papers, "video")[:3]
    profile = Profile(topics=(Topic("testing"),), seeds=seeds(liked, disliked))
    assert seed_trust(profile, index, ()) == 1.0


def test_scattered_likes_closer_to_the_dislikes_are_not_trusted() -> None:
    papers = bench_papers()
    index = build_index(papers)
    # Each liked paper is on another subject; each disliked one is on a liked one's subject.
    liked = [titled(papers, w)[0] for w in ("metamorphic", "flaky", "video")]
    disliked = [titled(papers, w)[1] for w in ("metamorphic", "flaky", "video")]
    profile = Profile(topics=(Topic("testing"),), seeds=seeds(liked, disliked))
    assert seed_trust(profile, index, ()) == 0.0
    # ... and their neighbours then get no seed boost, nor a reason naming a seed.
    plain = {p.paper.id: p for p in rank(Profile(topics=profile.topics), index, {}, now=NOW)}
    clicked = rank(profile, index, {}, now=NOW)
    assert clicked
    for pick in clicked:
        assert pick.paper.id in plain  # no paper admitted for being like a seed
        assert pick.relevance <= plain[pick.paper.id].relevance + 1e-9
        assert not any("seed" in r for r in pick.reasons), pick.reasons


def test_without_a_dislike_or_a_second_like_there_is_no_evidence() -> None:
    papers = bench_papers()
    index = build_index(papers)
    one = titled(papers, "metamorphic")[:1]
    library = titled(papers, "metamorphic")[:5]
    assert seed_trust(Profile(seeds=seeds(one, titled(papers, "video")[:2])), index, ()) == 1.0
    assert seed_trust(Profile(seeds=seeds(library, [])), index, ()) == 1.0  # a BibTeX library


def test_seeds_outside_the_day_are_read_from_their_text() -> None:
    papers = bench_papers()
    liked = titled(papers, "metamorphic")[:4]
    disliked = titled(papers, "video")[:3]
    today = [p for p in papers if p not in liked and p not in disliked]
    profile = Profile(topics=(Topic("testing"),), seeds=seeds(liked, disliked))
    assert seed_trust(profile, build_index(today), liked + disliked) == 1.0
