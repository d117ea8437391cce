"""Ranking subscribers: one profile (``rank``, what ``digest preview`` shows) or many at once.

There is one code path. :func:`rank` is :func:`rank_many` over a single profile, and
:func:`digests_many` is ``choose_for_digest(rank(...))`` for every profile, built from the same
arrays: it only skips building picks that the digest cannot show. Work is done in chunks of
``chunk_size`` profiles, so memory stays bounded however many subscribers there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence

import numpy as np

from digest.models import Paper, Pick, Profile, TrendSignal
from digest.rank import matching as m
from digest.rank.batch import chunk_relevance
from digest.rank.chunk_scores import chunk_scores
from digest.rank.index import CorpusIndex
from digest.rank.select import choose_slots
from digest.rank.tables import excluded_category_mask, text_table

CHUNK_SIZE = 256
Overflow = list[tuple[str, int]]


def rank_many(
    profiles: Sequence[Profile],
    index: CorpusIndex,
    signals: Mapping[int, TrendSignal],
    *,
    now: dt.datetime,
    exclude_paper_ids: Sequence[Collection[int]] | None = None,
    seed_papers: Sequence[Sequence[Paper]] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[list[Pick]]:
    """For each profile in order, every candidate that passes it, best first (see :func:`rank`).

    ``exclude_paper_ids`` and ``seed_papers``, when given, hold one entry per profile.
    """
    for chunk in chunk_scores(
        profiles, index, signals, now, exclude_paper_ids, seed_papers, chunk_size
    ):
        for i, docs in enumerate(chunk.ordered(chunk.passing)):
            yield chunk.picks(i, docs.tolist())


def digests_many(
    profiles: Sequence[Profile],
    index: CorpusIndex,
    signals: Mapping[int, TrendSignal],
    *,
    now: dt.datetime,
    exclude_paper_ids: Sequence[Collection[int]] | None = None,
    seed_papers: Sequence[Sequence[Paper]] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[tuple[list[Pick], Overflow]]:
    """For each profile in order, exactly ``choose_for_digest(rank(...), profile.per_digest)``.

    Reasons are built only for the shown picks; topic counts for "+N more" cover every pick.
    """
    for chunk in chunk_scores(
        profiles, index, signals, now, exclude_paper_ids, seed_papers, chunk_size
    ):
        for i, docs in enumerate(chunk.ordered(chunk.digest_candidates())):
            labels = chunk.labels(i)
            entries = [
                (float(chunk.score[i, doc]), labels[chunk.label[i, doc]]) for doc in docs.tolist()
            ]
            shown, overflow = choose_slots(entries, chunk.profiles[i].per_digest, chunk.counts(i))
            yield chunk.picks(i, [int(docs[k]) for k in shown]), overflow


def rank(
    profile: Profile,
    index: CorpusIndex,
    signals: Mapping[int, TrendSignal],
    *,
    now: dt.datetime,
    exclude_paper_ids: Collection[int] = (),
    seed_papers: Sequence[Paper] = (),
) -> list[Pick]:
    """Every candidate that passes the profile, best first; ties go to the lower paper id.

    score = (1 - t) * relevance + t * trending with t = ``profile.trending``; a paper needs some
    relevance (a topic, followed author, category or seed) unless t is 1. ``seed_papers`` carry
    the text of seed papers that are not among today's candidates (see ``Profile.seeds``).
    """
    return next(
        rank_many(
            [profile],
            index,
            signals,
            now=now,
            exclude_paper_ids=[exclude_paper_ids],
            seed_papers=[seed_papers],
        )
    )


def explain_exclusions(profile: Profile, index: CorpusIndex) -> dict[int, str]:
    """Paper id → why the profile's exclusions drop it; for debug output and tests."""
    rel = chunk_relevance([profile], index, [()])
    best = rel.best[0]
    table = text_table(index)
    reasons: dict[int, str] = {}
    if profile.exclude_categories:
        mask = excluded_category_mask(index, tuple(profile.exclude_categories))
        for doc in np.flatnonzero(mask).tolist():
            reasons[doc] = f"primary category excluded: {index.papers[doc].categories[0]}"
    for text in (t for t in profile.exclude if t.strip()):
        row = table.row(text, index)
        relevance = table.relevance(row)
        for doc in np.flatnonzero(rel.dropped[0] & (table.strength[row] > 0)).tolist():
            if doc in reasons:
                continue
            if table.in_title[row, doc]:
                reasons[doc] = f"title is about excluded '{text}'"
            elif relevance[doc] > best[doc] + m.EXCLUDE_MARGIN:
                found = relevance[doc]
                reasons[doc] = f"mainly about excluded '{text}' ({found:.2f} vs {best[doc]:.2f})"
    return {index.papers[doc].id: reason for doc, reason in reasons.items()}
