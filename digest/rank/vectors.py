"""Papers as tf-idf vectors, and a profile's "centre" learnt from its best matches.

Lexical matching cannot tell "tool use" by LLM agents from "tool use" by a robot hand, nor
"AI safety" from "Edge AI ... road safety". The papers a profile matches best, taken together,
can: their shared vocabulary is the profile's context (pseudo-relevance feedback, RM3-style,
on today's candidates only). A paper near that centre keeps its score; one far from it loses
part of it. The centre is the relevance-weighted sum of the FEEDBACK_DOCS best first-pass
papers, cut to its FEEDBACK_TERMS strongest terms; nearness is cosine similarity scaled so the
nearest of those papers counts as fully in context. :mod:`.batch` computes it for a chunk of
profiles with two sparse products.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from digest.rank.arrays import Floats, Vector
from digest.rank.index import CorpusIndex

FEEDBACK_DOCS = 20  # best first-pass papers that define the centre
FEEDBACK_TERMS = 40  # the centre keeps only its strongest terms


def paper_matrix(index: CorpusIndex) -> tuple[sp.csr_matrix, dict[str, int]]:
    """(papers × terms) L2-normalised log-tf·idf matrix and the term → column map; cached."""
    cached = index.cache.get("paper_matrix")
    if cached is not None:
        return cached  # type: ignore[return-value]
    columns: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for doc, counts in enumerate(index.term_counts):
        weights = []
        for term, count in counts.items():
            df = len(index.postings.get(term, ()))
            if df < 2 or len(term) < 3:
                continue  # a word only this paper uses says nothing about its neighbours
            weights.append(
                (columns.setdefault(term, len(columns)), (1 + math.log(count)) * index.idf(df))
            )
        norm = math.sqrt(sum(w * w for _, w in weights)) or 1.0
        for col, weight in weights:
            rows.append(doc)
            cols.append(col)
            values.append(weight / norm)
    matrix = sp.csr_matrix(
        (np.asarray(values, dtype=np.float32), (rows, cols)),
        shape=(index.size, max(len(columns), 1)),
    )
    index.cache["paper_matrix"] = (matrix, columns)
    return matrix, columns


def vector_of(index: CorpusIndex, counts: Mapping[str, int]) -> Vector:
    """A text's term counts as a unit vector in the index's columns (unknown terms dropped)."""
    matrix, columns = paper_matrix(index)
    vector = np.zeros(matrix.shape[1], dtype=np.float32)
    for term, count in counts.items():
        col = columns.get(term)
        if col is not None and count > 0:
            vector[col] = (1 + math.log(count)) * index.idf(len(index.postings.get(term, ())))
    norm = float(np.linalg.norm(vector))
    if norm > 0:
        vector /= norm
    return vector


def cosines(index: CorpusIndex, vector: Vector) -> Floats:
    """Cosine similarity of every candidate paper to ``vector``."""
    matrix, _ = paper_matrix(index)
    return np.asarray(matrix @ vector, dtype=np.float64).ravel()
