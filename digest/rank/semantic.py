"""Relevance by meaning: the profile's topics against each paper's sentence embedding.

A paper's vector is stored once at ingest (see :mod:`digest.store.embeddings`) and handed to
:func:`digest.rank.build_index`; a topic's vector is computed once per run and distinct text.
A profile's semantic score for a paper is the weighted mean of its topics' cosines (the cosine
with the weighted mean of the topic vectors), min-max normalised over the day's papers for that
profile, so that it is on the scale of the lexical relevance it is blended with:

    w = SEMANTIC_WEIGHT * (1 - confidence)
    relevance = (1 - w) * lexical + w * semantic

for every paper the lexical side admits, and for papers it does not admit whose normalised
semantic score reaches SEMANTIC_ENTRY and whose raw cosine reaches SEMANTIC_FLOOR (a paper
that says in other words what the topic says).
``confidence`` is the mean topic relevance of the profile's CONFIDENT_PAPERS best papers:
a topic whose words the day's papers use is ranked mostly by BM25F, one written in words the
papers do not use mostly by meaning. Exclusions still drop papers. The constants were chosen
on the "tune" half of bench/relevance (see README: "How papers are ranked").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.models import Profile
from digest.rank.arrays import Embeddings, Flags, Floats, Positions
from digest.rank.clicks import blend_taste
from digest.rank.embeddings import Embedder
from digest.rank.index import CorpusIndex

SEMANTIC_WEIGHT = 0.7
SEMANTIC_ENTRY = 0.7
# The day's papers are min-max scaled, so the nearest paper to any text, even a made-up word,
# scores 1.0; entering by meaning also needs this raw cosine (nonsense topics reach 0.11-0.29
# with wordllama on bench/relevance, judged-relevant papers a median of 0.33). Chosen on the
# tune half: 0.20 and 0.25 score best (nDCG@10 0.701 vs 0.701 at 0; 0.30 drops to 0.692).
SEMANTIC_FLOOR = 0.25
CONFIDENT_PAPERS = 5  # the lexical side's confidence: the mean of its best five relevances


class SemanticTable:
    """Rows of cosines between one distinct topic text and every paper; row 0 is all zeros."""

    def __init__(self, vectors: Embeddings, embedder: Embedder) -> None:
        self._vectors = vectors
        self._embedder = embedder
        self._rows: dict[str, int] = {}
        self.cosine = np.zeros((64, vectors.shape[0]), dtype=np.float32)
        self._count = 1

    def row(self, text: str) -> int:
        found = self._rows.get(text)
        if found is None:
            # One text per call: its vector does not depend on what else is embedded with it.
            vector = self._embedder.embed([text])[0]
            if self._count == len(self.cosine):
                self.cosine = np.concatenate([self.cosine, np.zeros_like(self.cosine)])
            if self._vectors.shape[0]:  # no papers (an empty window): the row stays empty
                self.cosine[self._count] = self._vectors @ vector
            found = self._rows[text] = self._count
            self._count += 1
        return found


def semantic_table(index: CorpusIndex) -> SemanticTable | None:
    """The index's table, made on first use; None when the index carries no embeddings."""
    if index.vectors is None or index.embedder is None:
        return None
    table = index.cache.get("semantic_table")
    if table is None:
        table = index.cache["semantic_table"] = SemanticTable(index.vectors, index.embedder)
    return table  # type: ignore[return-value]


def normalised_rows(scores: Floats) -> Floats:
    """Each row min-max scaled to 0..1 over its papers (a constant row becomes zeros)."""
    if not scores.shape[1]:
        return scores
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.where(span > 0, (scores - low) / np.where(span > 0, span, 1.0), 0.0)


def semantic_scores(
    index: CorpusIndex, slots: Sequence[Sequence[tuple[str, float]]]
) -> tuple[Floats, Positions, Flags, Flags] | None:
    """(normalised semantic score, nearest topic slot) per profile and paper, which profiles
    have a topic to embed, and which papers are near enough to enter by meaning (a raw cosine
    of SEMANTIC_FLOOR); None without embeddings. ``slots`` are each profile's
    (topic text, weight) pairs in slot order."""
    table = semantic_table(index)
    if table is None:
        return None
    count = len(slots)
    width = max([len(topics) for topics in slots] + [1])
    rows = np.zeros((count, width), dtype=np.intp)  # 0: the all-zero row, no topic
    weight = np.zeros((count, width))
    for i, topics in enumerate(slots):
        for j, (text, w) in enumerate(topics):
            rows[i, j], weight[i, j] = table.row(text), w
    total = np.zeros((count, index.size))
    nearest = np.zeros((count, index.size), dtype=np.intp)
    best = np.full((count, index.size), -np.inf)
    for j in range(width):  # slot by slot, each row in its own slot order: chunk-independent
        at = np.flatnonzero(rows[:, j] > 0)
        if not at.size:
            continue
        cosine = table.cosine[rows[at, j]].astype(np.float64)
        total[at] += weight[at, j][:, None] * cosine
        nearest[at] = np.where(cosine > best[at], j, nearest[at])
        best[at] = np.maximum(best[at], cosine)
    weights = weight.sum(axis=1)
    mean = total / np.where(weights > 0, weights, 1.0)[:, None]
    active = weights > 0
    return normalised_rows(mean), nearest, active, active[:, None] & (mean >= SEMANTIC_FLOOR)


def lexical_confidence(lexical: Floats) -> Floats:
    """Per row, the mean of its CONFIDENT_PAPERS best lexical relevances (0..1)."""
    count = min(CONFIDENT_PAPERS, lexical.shape[1])
    if not count:
        return np.zeros(lexical.shape[0])
    best = -np.partition(-lexical, count - 1, axis=1)[:, :count]
    confidence: Floats = np.clip(best.mean(axis=1), 0.0, 1.0)
    return confidence


def fuse(
    lexical: Floats,
    semantic: Floats,
    admitted: Flags,
    dropped: Flags,
    active: Flags,
    enterable: Flags,
    topics_only: Floats,
) -> tuple[Floats, Flags]:
    """(blended relevance, entered on meaning alone) per profile and paper. Rows that are not
    ``active`` (no topic to embed) keep their lexical relevance; only ``enterable`` papers may
    enter on meaning alone; dropped papers get 0. The
    confidence comes from ``topics_only`` (the topics' own lexical relevance, before seeds and
    clicks), so a click moves the papers it is about and not the blend of every other one."""
    entry = enterable & (semantic >= SEMANTIC_ENTRY) & ~admitted & ~dropped
    weight = SEMANTIC_WEIGHT * (1.0 - lexical_confidence(topics_only))
    blended = (1.0 - weight[:, None]) * lexical + weight[:, None] * semantic
    fused = np.where(active[:, None], blended, lexical)
    return np.where((admitted | entry) & ~dropped, fused, 0.0), entry


def by_meaning(
    profiles: Sequence[Profile],
    index: CorpusIndex,
    slots: Sequence[Sequence[tuple[str, float]]],
    scores_so_far: tuple[Floats, Floats],
    admitted: Flags,
    dropped: Flags,
    label: Positions,
) -> tuple[Floats, Flags, Flags, Positions]:
    """Blend in the semantic score (:mod:`.semantic`) and the learnt taste (:mod:`.clicks`):
    (relevance, near a topic in meaning, entered on taste, topic slot or -1).
    ``scores_so_far`` is (relevance so far, the topics' own first-pass relevance)."""
    relevance, topics_only = scores_so_far  # with seeds, authors, categories; topics alone
    none = np.zeros(relevance.shape, dtype=bool)
    semantic = semantic_scores(index, slots)
    if semantic is None:
        return np.where(admitted & ~dropped, relevance, 0.0), none, none, label
    scores, nearest, active, enterable = semantic
    relevance, entered = fuse(relevance, scores, admitted, dropped, active, enterable, topics_only)
    relevance, liked = blend_taste(profiles, index, relevance, relevance > 0, dropped)
    meaning = enterable & (scores >= SEMANTIC_ENTRY)
    close = active[:, None] & (entered | liked)
    return relevance, meaning, liked, np.where(label >= 0, label, np.where(close, nearest, -1))
