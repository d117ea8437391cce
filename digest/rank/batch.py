"""Relevance of every paper to a chunk of profiles at once, as (profiles × papers) arrays.

This is the only place relevance is decided: :func:`digest.rank.rank` runs it on a chunk of
one profile, :func:`digest.rank.rank_many` on chunks of hundreds, and every step is computed
row by row (elementwise numpy, per-row sparse products), so a profile's numbers do not depend
on which chunk it is in. Per profile and paper:

* each topic's strength comes from :mod:`.tables` (scored once per distinct text), scaled by
  the topic's weight and saturated; topics combine by noisy-OR, the best at full share and the
  others at OTHER_TOPIC_SHARE (the *first pass*);
* an exclusion drops a paper whose title is about it or that it matches better than any topic
  by EXCLUDE_MARGIN; a paper all of whose categories are excluded is dropped too;
* the profile's centre (:mod:`.vectors`) scales topic relevance by nearness, and a paper very
  near it may enter on that ground alone;
* followed authors, categories and positive seeds add noisy-OR boosts; negative seeds cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from digest.models import Paper, Profile
from digest.rank import matching as m
from digest.rank.arrays import Flags, Floats, Positions
from digest.rank.feedback import is_negative
from digest.rank.index import CorpusIndex
from digest.rank.relevance import HALF_SATURATION
from digest.rank.seed_trust import seed_trust
from digest.rank.semantic import by_meaning
from digest.rank.tables import (
    TextTable,
    author_mask,
    category_mask,
    excluded_category_mask,
    paper_matrix_transposed,
    seed_vector,
    text_table,
)
from digest.rank.vectors import FEEDBACK_DOCS, FEEDBACK_TERMS, paper_matrix


@dataclass(frozen=True)
class ChunkRelevance:
    """Relevance of a chunk of profiles (rows) to every paper (columns), with its grounds."""

    topics: list[list[str]]  # per profile, the topic texts of its slots (sorted by text)
    rows: Positions  # (profiles, slots): the slot's row in the text table, 0 for none
    weights: Floats  # (profiles, slots): the topic's weight
    best: Floats  # (profiles, papers): the best topic's weighted strength
    relevance: Floats  # 0 where the paper has no ground or is dropped
    matched: Flags  # some topic shares a concept with the paper
    meaning: Flags  # near a topic in embedding space: semantic score >= SEMANTIC_ENTRY
    liked: Flags  # entered on the reader's learnt taste alone (see .clicks)
    near_ok: Flags  # near enough to the profile's centre to enter without a topic word
    dropped: Flags  # excluded by a topic or category exclusion
    label: Positions  # best topic slot (the first on ties), or the slot count for "no topic"
    boosts: Flags  # (3, profiles, papers): by a followed author, in a category, like a seed


def weighted_strength(strength: Floats, weight: Floats) -> Floats:
    """A topic's relevance to papers: its strength times its weight, saturated to 0..1."""
    x = strength * weight
    return x / (x + HALF_SATURATION)


def _topic_slots(profiles: Sequence[Profile]) -> list[list[tuple[str, float]]]:
    """Per profile, its usable (text, weight) topics sorted by text, so that the first of
    equally strong topics is the alphabetically first, as in the reasons."""
    return [
        sorted(
            ((t.text, t.weight) for t in p.topics if t.text.strip() and t.weight > 0),
            key=lambda tw: tw[0],
        )
        for p in profiles
    ]


def chunk_relevance(
    profiles: Sequence[Profile], index: CorpusIndex, seed_papers: Sequence[Sequence[Paper]]
) -> ChunkRelevance:
    """Relevance of each profile to each paper; see the module docstring for the model."""
    table = text_table(index)
    slots = _topic_slots(profiles)
    rows = np.zeros((len(profiles), max([len(t) for t in slots] + [1])), dtype=np.intp)
    weights = np.zeros(rows.shape)
    for i in range(len(profiles)):
        for j, (text, weight) in enumerate(slots[i]):
            rows[i, j] = table.row(text, index)
            weights[i, j] = weight
    best, label, others, matched = _topics(table, rows, weights)
    dropped = _dropped(profiles, index, best)
    first_pass = np.where(matched & ~dropped, 1.0 - (1.0 - best) * others, 0.0)
    near, learnt = _nearness(index, first_pass)
    near_ok = learnt[:, None] & (near >= m.NEAR_MIN)
    relevance = first_pass * (1.0 - m.CONTEXT_WEIGHT + m.CONTEXT_WEIGHT * near)
    boosted = 1.0 - (1.0 - relevance) * (1.0 - np.clip(m.NEAR_SHARE * near**2, 0.0, 1.0))
    relevance = np.where(near_ok, boosted, relevance)
    boosts = np.zeros((3, *best.shape), dtype=bool)
    relevance = _with_extras(profiles, index, seed_papers, relevance, boosts)
    admitted = (matched | near_ok | boosts.any(axis=0)) & (relevance > 0)
    relevance, meaning, liked, label = by_meaning(
        profiles,
        index,
        slots,
        (relevance, first_pass),
        admitted,
        dropped | _refused(profiles, index),
        np.where(matched, label, -1),
    )
    texts = [[text for text, _ in topics] for topics in slots]
    return ChunkRelevance(
        texts,
        rows,
        weights,
        best,
        relevance,
        matched,
        meaning,
        liked,
        near_ok,
        dropped,
        np.where(label >= 0, label, rows.shape[1]),
        boosts,
    )


def _topics(
    table: TextTable, rows: Positions, weights: Floats
) -> tuple[Floats, Positions, Floats, Flags]:
    """(best weighted strength, its slot, the product of (1 - OTHER_TOPIC_SHARE * w) over the
    other topics, whether any topic matched), one topic slot at a time: the noisy-OR of the
    topics with the best at full share is then 1 - (1 - best) * others."""
    count, size = rows.shape[0], table.strength.shape[1]
    best, others = np.zeros((count, size)), np.ones((count, size))
    label = np.zeros((count, size), dtype=np.intp)
    for j in range(rows.shape[1]):
        present = np.flatnonzero(rows[:, j] > 0)
        if not present.size:
            break
        at: slice | Positions = slice(None) if present.size == count else present
        weighted = weighted_strength(table.strength[rows[at, j]], weights[at, j][:, None])
        previous = best[at]
        stronger = weighted > previous
        others[at] *= 1.0 - np.minimum(previous, weighted) * m.OTHER_TOPIC_SHARE
        best[at] = np.maximum(previous, weighted)
        label[at] = np.where(stronger, j, label[at])
    matched = best > 0  # a topic's weighted strength is positive where it shares a concept
    return best, label, others, matched


def _refused(profiles: Sequence[Profile], index: CorpusIndex) -> Flags:
    """The papers each reader said "less" of: never offered to them again."""
    refused = np.zeros((len(profiles), index.size), dtype=bool)
    for i, profile in enumerate(profiles):
        for negative in (seed for seed in profile.seeds if is_negative(seed)):
            rated = index.find(negative[1:])
            if rated is not None:
                refused[i, rated] = True
    return refused


def _dropped(profiles: Sequence[Profile], index: CorpusIndex, best: Floats) -> Flags:
    table = text_table(index)
    dropped = np.zeros(best.shape, dtype=bool)
    for i, profile in enumerate(profiles):
        if profile.exclude_categories:
            dropped[i] |= excluded_category_mask(index, tuple(profile.exclude_categories))
        for text in profile.exclude:
            if text.strip():
                row = table.row(text, index)
                present = table.strength[row] > 0
                stronger = table.relevance(row) > best[i] + m.EXCLUDE_MARGIN
                dropped[i] |= present & (table.in_title[row] | stronger)
    return dropped


def _feedback_docs(first_pass: Floats) -> tuple[Positions, Positions]:
    """(rows, docs) of each row's FEEDBACK_DOCS best papers, ties to the lower position."""
    size = first_pass.shape[1]
    if size > FEEDBACK_DOCS:
        kth = -np.partition(-first_pass, FEEDBACK_DOCS - 1, axis=1)[:, FEEDBACK_DOCS - 1]
        candidates = (first_pass >= kth[:, None]) & (first_pass > 0)
    else:
        candidates = first_pass > 0
    rows, docs = np.nonzero(candidates)
    order = np.lexsort((docs, -first_pass[rows, docs], rows))
    rows, docs = rows[order], docs[order]
    starts = np.searchsorted(rows, rows, side="left")
    keep = np.arange(rows.size) - starts < FEEDBACK_DOCS
    return rows[keep], docs[keep]


def _nearness(index: CorpusIndex, first_pass: Floats) -> tuple[Floats, Flags]:
    """(nearness per row and paper, rows with a learnt centre); see :mod:`.vectors`."""
    count = len(first_pass)
    near = np.ones(first_pass.shape)
    learnt = (first_pass > 0).sum(axis=1) >= 3
    if not learnt.any():
        return near, learnt
    rows, docs = _feedback_docs(np.where(learnt[:, None], first_pass, 0.0))
    matrix, _ = paper_matrix(index)
    weights = first_pass[rows, docs].astype(np.float32)
    chosen = sp.csr_matrix((weights, (rows, docs)), shape=(count, index.size))
    centres = sp.csr_matrix(chosen @ matrix, dtype=np.float32)
    centres.sort_indices()
    _keep_strongest_terms(centres, matrix.shape[1])
    centres.eliminate_zeros()
    similarity = (centres @ paper_matrix_transposed(index)).toarray().astype(np.float64)
    top = np.zeros(count)
    np.maximum.at(top, rows, similarity[rows, docs])
    learnt &= top > 0
    scaled = np.clip(similarity / np.where(top > 0, top, 1.0)[:, None], 0.0, 1.0)
    return np.where(learnt[:, None], scaled, 1.0), learnt


def _keep_strongest_terms(centres: sp.csr_matrix, terms: int) -> None:
    """In place: each row keeps its FEEDBACK_TERMS strongest terms (ties kept), unit length."""
    lengths = np.diff(centres.indptr)
    if terms > FEEDBACK_TERMS and lengths.max(initial=0) >= FEEDBACK_TERMS:
        padded = np.zeros((centres.shape[0], int(lengths.max())), dtype=np.float32)
        rows = np.repeat(np.arange(centres.shape[0]), lengths)
        padded[rows, np.arange(rows.size) - centres.indptr[rows]] = centres.data
        width = padded.shape[1]
        cut = np.partition(padded, width - FEEDBACK_TERMS, axis=1)[:, width - FEEDBACK_TERMS]
        centres.data = np.where(centres.data >= cut[rows], centres.data, 0.0).astype(np.float32)
    rows = np.repeat(np.arange(centres.shape[0]), np.diff(centres.indptr))
    squares = centres.data.astype(np.float64) ** 2
    norms = np.sqrt(np.bincount(rows, weights=squares, minlength=centres.shape[0]))
    safe = np.where(norms > 0, norms, 1.0)
    centres.data = (centres.data / safe[rows]).astype(np.float32)


def _with_extras(
    profiles: Sequence[Profile],
    index: CorpusIndex,
    seed_papers: Sequence[Sequence[Paper]],
    relevance: Floats,
    boosts: Flags,
) -> Floats:
    """Noisy-OR boosts for authors, categories and seeds, then negative seeds; marks boosts."""
    relevance = relevance.copy()
    for i, profile in enumerate(profiles):
        if not (profile.authors or profile.categories or profile.seeds):
            continue
        miss = 1.0 - np.clip(relevance[i], 0.0, 1.0)
        if profile.authors:
            found = author_mask(index, profile.authors)
            miss = miss * np.where(found, 1.0 - m.AUTHOR_BOOST, 1.0)
            boosts[0, i] = found
        if profile.categories:
            found = category_mask(index, profile.categories)
            miss = miss * np.where(found, 1.0 - m.CATEGORY_BOOST, 1.0)
            boosts[1, i] = found
        papers = seed_papers[i] if seed_papers else ()
        seed, against = seed_arrays(profile, index, papers)
        if profile.seeds:
            trust = seed_trust(profile, index, papers)
            miss = miss * (1.0 - np.clip(m.SEED_SHARE * trust * seed, 0.0, 1.0))
            boosts[2, i] = (seed > 0) & (trust > 0)  # a seed trusted for nothing is no reason
        relevance[i] = (1.0 - miss) * (1.0 - m.NEGATIVE_SEED_SHARE * against)
    return relevance


def seed_arrays(
    profile: Profile, index: CorpusIndex, seed_papers: Sequence[Paper]
) -> tuple[Floats, Floats]:
    """(best positive-seed similarity, best negative-seed similarity) per paper."""
    best = np.zeros(index.size)
    against = np.zeros(index.size)
    for seed in profile.seeds:
        if is_negative(seed):
            against = np.maximum(against, seed_vector(index, seed[1:], seed_papers, own=True))
        else:
            best = np.maximum(best, seed_vector(index, seed, seed_papers, own=False))
    return best, against


def best_seed(
    profile: Profile, index: CorpusIndex, seed_papers: Sequence[Paper], doc: int
) -> str | None:
    """The positive seed most similar to paper ``doc`` (the first on ties), for its reason."""
    found: tuple[float, str | None] = (0.0, None)
    for seed in profile.seeds:
        if not is_negative(seed):
            similarity = seed_vector(index, seed, seed_papers, own=False)[doc]
            if similarity > found[0]:
                found = (float(similarity), seed)
    return found[1]
