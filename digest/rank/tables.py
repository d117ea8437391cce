"""Per-index caches that let many subscribers share work: one vector per distinct piece of text.

Most subscribers share topics, exclusions, authors and categories, so each distinct one is
scored against all of today's papers once per index and kept as a row or a mask; ranking a
subscriber then gathers rows instead of scoring text again. Everything lives in
``CorpusIndex.cache`` and so dies with the run's index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from digest.models import Paper
from digest.rank.arrays import Flags, Floats
from digest.rank.index import CorpusIndex, normalise_identifier
from digest.rank.matching import (
    EXCLUDE_TITLE_COVERAGE,
    SEED_MIN_SIMILARITY,
    _author_key,
    _ids,
    _in_category,
    seed_similarities,
)
from digest.rank.relevance import HALF_SATURATION, Query, analyse_query, score_query
from digest.rank.vectors import paper_matrix


class TextTable:
    """Rows of per-paper match arrays, one per distinct query text; row 0 matches nothing.

    ``strength`` is :class:`relevance.Scores` ``strength`` (0 where the text shares no concept
    with the paper) and ``in_title`` whether the title covers enough of the text for an
    exclusion to drop the paper outright; ``complete`` whether every concept of the text occurs
    in the paper (what a "matched:" reason claims). About 10 bytes per paper per distinct text.
    """

    def __init__(self, size: int) -> None:
        self._rows: dict[str, int] = {}
        self._by_concepts: dict[object, int] = {}
        self.strength = np.zeros((64, size))
        self.in_title = np.zeros((64, size), dtype=bool)
        self.complete = np.zeros((64, size), dtype=bool)
        self._count = 1

    def relevance(self, row: int) -> Floats:
        """The row's :class:`relevance.Scores` ``relevance``, derived rather than stored."""
        strength: Floats = self.strength[row]
        return strength / (strength + HALF_SATURATION)

    def row(self, text: str, index: CorpusIndex) -> int:
        found = self._rows.get(text)
        if found is not None:
            return found
        query = analyse_query(text, index)
        key = tuple(concept.alternatives for concept in query.concepts)
        found = self._by_concepts.get(key)
        if found is None:
            found = self._add(query, index)
            self._by_concepts[key] = found
        self._rows[text] = found
        return found

    def _add(self, query: Query, index: CorpusIndex) -> int:
        if self._count == len(self.strength):
            grow = len(self.strength)
            self.strength = np.vstack([self.strength, np.zeros_like(self.strength[:grow])])
            self.in_title = np.vstack([self.in_title, np.zeros_like(self.in_title[:grow])])
            self.complete = np.vstack([self.complete, np.zeros_like(self.complete[:grow])])
        row = self._count
        self._count += 1
        scores = score_query(query, index)
        self.strength[row] = scores.strength
        self.in_title[row] = (scores.strength > 0) & (
            scores.title_coverage >= EXCLUDE_TITLE_COVERAGE
        )
        self.complete[row] = (scores.strength > 0) & (scores.coverage >= 1.0 - 1e-9)
        return row


def text_table(index: CorpusIndex) -> TextTable:
    table = index.cache.get("text_table")
    if table is None:
        table = index.cache["text_table"] = TextTable(index.size)
    return table  # type: ignore[return-value]


def _cached(index: CorpusIndex, name: str) -> dict[object, NDArray[Any]]:
    return index.cache.setdefault(("tables", name), {})  # type: ignore[return-value]


def author_mask(index: CorpusIndex, authors: Sequence[str]) -> Flags:
    """Papers with an author matching any followed name (:func:`matching.followed_author`)."""
    by_surname = index.cache.get("authors_by_surname")
    if by_surname is None:
        grouped: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for doc, paper in enumerate(index.papers):
            for author in paper.authors:
                surname, initial = _author_key(author)
                grouped[surname].append((doc, initial))
        by_surname = index.cache["authors_by_surname"] = dict(grouped)
    cache = _cached(index, "author")
    mask = np.zeros(index.size, dtype=bool)
    for name in authors:
        if not name.strip():
            continue
        docs = cache.get(name)
        if docs is None:
            surname, first = _author_key(name)
            docs = cache[name] = np.asarray(
                sorted(
                    {
                        doc
                        for doc, initial in by_surname.get(surname, ())  # type: ignore[attr-defined]
                        if not initial or not first or initial == first
                    }
                ),
                dtype=np.intp,
            )
        mask[docs] = True
    return mask


def category_mask(index: CorpusIndex, wanted: Sequence[str]) -> Flags:
    """Papers with a category inside any wanted one (:func:`matching.matching_category`)."""
    cache = _cached(index, "category")
    mask = np.zeros(index.size, dtype=bool)
    for category in wanted:
        found = cache.get(category)
        if found is None:
            found = cache[category] = np.asarray(
                [any(_in_category(c, category) for c in p.categories) for p in index.papers],
                dtype=bool,
            ).reshape(index.size)
        mask |= found
    return mask


def excluded_category_mask(index: CorpusIndex, excluded: tuple[str, ...]) -> Flags:
    """Papers whose primary category (arXiv lists it first) is excluded: a paper cross-listed
    into an excluded category stays, as a reader excluding cs.CV still wants a cs.CL paper
    that also lists cs.CV."""
    cache = _cached(index, "exclude_category")
    found = cache.get(excluded)
    if found is None:
        found = cache[excluded] = np.asarray(
            [
                bool(p.categories) and any(_in_category(p.categories[0], x) for x in excluded)
                for p in index.papers
            ],
            dtype=bool,
        ).reshape(index.size)
    return found


def seed_vector(
    index: CorpusIndex, identifier: str, seed_papers: Sequence[Paper], *, own: bool
) -> Floats:
    """Per paper, similarity to the seed (0 below SEED_MIN_SIMILARITY); ``own=False`` zeroes
    the seed paper itself, which a positive seed must not recommend."""
    cache = _cached(index, "seed")
    seed_doc = index.find(identifier)
    wanted = normalise_identifier(identifier)
    source = next(
        (p for p in seed_papers if wanted in {normalise_identifier(i) for i in _ids(p)}), None
    )
    key = (wanted, own, seed_doc, None if seed_doc is not None or source is None else source.id)
    found = cache.get(key)
    if found is None:
        found = np.zeros(index.size)
        for doc, similarity in seed_similarities(
            identifier, index, () if source is None else (source,)
        ).items():
            if similarity >= SEED_MIN_SIMILARITY:
                found[doc] = similarity
        if not own and seed_doc is not None:
            found[seed_doc] = 0.0
        cache[key] = found
    return found


def paper_matrix_transposed(index: CorpusIndex) -> sp.csr_matrix:
    """(terms × papers) CSR form of :func:`vectors.paper_matrix`, for centre × papers products."""
    cached = index.cache.get("paper_matrix_t")
    if cached is None:
        matrix, _ = paper_matrix(index)
        cached = index.cache["paper_matrix_t"] = sp.csr_matrix(matrix.T)
    return cached
