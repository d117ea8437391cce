"""The batch path gives exactly what the single-subscriber path (``digest preview``) gives.

Random profiles are built from the fixture papers' own vocabulary (title word pairs, authors,
categories, arXiv ids as seeds), so they match papers the way real readers' topics do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from digest.models import Paper, Profile, Topic, TrendSignal
from digest.rank import (
    CorpusIndex,
    build_index,
    choose_for_digest,
    digests_many,
    rank,
    rank_many,
)
from tests.unit.test_rank_selfcheck import _papers

NOW = dt.datetime(2026, 8, 6, tzinfo=dt.UTC)
CATEGORIES = ("cs.LG", "cs.CL", "cs.AI", "q-bio.NC", "stat.ML")


def _corpus() -> list[Paper]:
    rng = random.Random(3)
    return [
        dataclasses.replace(
            paper,
            categories=tuple(rng.sample(CATEGORIES, rng.randint(0, 2))),
            published=NOW - dt.timedelta(days=rng.randint(0, 6)),
        )
        for paper in _papers()
    ]


def _vocabulary(papers: list[Paper]) -> list[str]:
    phrases = set()
    for paper in papers:
        words = [w.strip(":,.()") for w in paper.title.split() if len(w) > 3]
        phrases.update(" ".join(words[i : i + 2]).lower() for i in range(len(words) - 1))
    return sorted(phrases)


def _profiles(papers: list[Paper], count: int, seed: int) -> list[Profile]:
    rng = random.Random(seed)
    vocabulary = _vocabulary(papers)
    authors = sorted({a for p in papers for a in p.authors})
    ids = [p.arxiv_id for p in papers if p.arxiv_id]
    profiles = []
    for _ in range(count):
        seeds = rng.sample(ids, rng.choice((0, 0, 1, 2)))
        if seeds and rng.random() < 0.3:
            seeds[0] = "-" + seeds[0]
        if rng.random() < 0.2:
            seeds.append("2501.00001")  # outside the index: its text comes in seed_papers
        profiles.append(
            Profile(
                topics=tuple(
                    Topic(text, rng.choice((1.0, 1.0, 0.5, 2.0)))
                    for text in rng.sample(vocabulary, rng.randint(1, 5))
                ),
                exclude=tuple(rng.sample(vocabulary, rng.choice((0, 0, 1)))),
                categories=tuple(rng.sample(CATEGORIES, rng.choice((0, 0, 1)))),
                exclude_categories=tuple(rng.sample(CATEGORIES, rng.choice((0, 0, 0, 1)))),
                authors=tuple(rng.sample(authors, rng.choice((0, 0, 1, 2)))),
                seeds=tuple(seeds),
                per_digest=rng.choice((3, 5, 10)),
                min_score=rng.choice((0.0, 0.0, 0.1, 0.3)),
                trending=rng.choice((0.0, 0.2, 0.5, 1.0)),
            )
        )
    return profiles


OUTSIDE_SEED = Paper(
    id=10_000,
    key="2501.00001",
    title="Speculative decoding with lightweight draft models",
    abstract="Draft models propose tokens that a large verifier accepts in parallel.",
    arxiv_id="2501.00001",
)


@pytest.fixture(scope="module")
def world() -> tuple[CorpusIndex, dict[int, TrendSignal], list[Profile], list[set[int]]]:
    papers = _corpus()
    rng = random.Random(9)
    signals = {
        p.id: TrendSignal(rng.randint(1, 3), rng.randint(0, 4), float(rng.randint(0, 30)))
        for p in papers
        if rng.random() < 0.4
    }
    profiles = _profiles(papers, 120, seed=11)
    sent = [set(rng.sample([p.id for p in papers], rng.randint(0, 5))) for _ in profiles]
    return build_index(papers), signals, profiles, sent


def test_rank_many_gives_exactly_rank_one_by_one(world) -> None:  # type: ignore[no-untyped-def]
    index, signals, profiles, sent = world
    seeds = [[OUTSIDE_SEED]] * len(profiles)
    batch = list(
        rank_many(
            profiles,
            index,
            signals,
            now=NOW,
            exclude_paper_ids=sent,
            seed_papers=seeds,
            chunk_size=7,
        )
    )
    single = [
        rank(p, index, signals, now=NOW, exclude_paper_ids=s, seed_papers=[OUTSIDE_SEED])
        for p, s in zip(profiles, sent, strict=True)
    ]
    assert batch == single
    assert sum(len(picks) for picks in single) > len(profiles)  # the profiles do match papers


def test_digests_many_gives_exactly_choose_for_digest_of_rank(world) -> None:  # type: ignore[no-untyped-def]
    index, signals, profiles, sent = world
    batch = list(
        digests_many(profiles, index, signals, now=NOW, exclude_paper_ids=sent, chunk_size=50)
    )
    single = [
        choose_for_digest(rank(p, index, signals, now=NOW, exclude_paper_ids=s), p.per_digest)
        for p, s in zip(profiles, sent, strict=True)
    ]
    assert batch == single
    assert any(overflow for _, overflow in single)  # "+N more" counts are exercised


def test_profile_ranks_the_same_whatever_chunk_it_is_in(world) -> None:  # type: ignore[no-untyped-def]
    index, signals, profiles, _ = world
    alone = list(rank_many(profiles[:40], index, signals, now=NOW, chunk_size=1))
    together = list(rank_many(profiles[:40], index, signals, now=NOW, chunk_size=40))
    assert alone == together


def test_rank_many_of_no_profiles_is_empty(world) -> None:  # type: ignore[no-untyped-def]
    index, signals, _, _ = world
    assert list(rank_many([], index, signals, now=NOW)) == []
