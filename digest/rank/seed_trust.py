"""How far a reader's "more like this" seeds are trusted: measured on the reader's own ratings.

A "more" click lifts papers whose words are close to the clicked paper's. That helps a reader
whose liked papers resemble each other and differ from what they said "less" to; for a reader
whose likes are scattered it lifts papers near one click, not near the reader. The rated
papers tell which reader is which: each is scored by its tf-idf nearness (the measure the
boost itself uses) to the *other* liked papers, leave one out; the Gini coefficient
(2·AUC − 1, floored at 0) of those scores, liked against disliked, says how well nearness
predicts this reader, and its square root is the trust (the root, against the Gini itself, was
chosen on the "tune" profiles of bench/relevance/feedback.py). Fewer than two liked or no
disliked papers is no evidence: full trust, the boost as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.models import Paper, Profile
from digest.rank.feedback import is_negative
from digest.rank.index import CorpusIndex
from digest.rank.matching import seed_term_counts
from digest.rank.vectors import vector_of


def seed_trust(profile: Profile, index: CorpusIndex, seed_papers: Sequence[Paper]) -> float:
    """0..1: the share of the seed boost this reader gets (cached per seed list and index)."""
    cache = index.cache.setdefault("seed_trust", {})
    assert isinstance(cache, dict)
    key = (profile.seeds, tuple(p.id for p in seed_papers))
    if key not in cache:
        cache[key] = _trust(profile.seeds, index, seed_papers)
    return float(cache[key])


def _trust(seeds: Sequence[str], index: CorpusIndex, seed_papers: Sequence[Paper]) -> float:
    positive = [s for s in seeds if not is_negative(s)]
    negative = [s[1:] for s in seeds if is_negative(s)]
    if len(positive) < 2 or not negative:
        return 1.0
    liked, disliked = _vectors(index, positive, seed_papers), _vectors(index, negative, seed_papers)
    if len(liked) < 2 or not len(disliked):
        return 1.0
    among = liked @ liked.T
    np.fill_diagonal(among, -np.inf)
    liked_scores = among.max(axis=1)
    disliked_scores = (disliked @ liked.T).max(axis=1)
    wins = (liked_scores[:, None] > disliked_scores[None, :]).mean()
    ties = (liked_scores[:, None] == disliked_scores[None, :]).mean()
    return float(np.sqrt(max(0.0, 2.0 * (wins + 0.5 * ties) - 1.0)))


def _vectors(index: CorpusIndex, seeds: Sequence[str], seed_papers: Sequence[Paper]) -> np.ndarray:
    """The seeds' tf-idf vectors in the index's columns (seeds known to neither are left out)."""
    found = (seed_term_counts(seed, index, seed_papers) for seed in seeds)
    rows = [vector_of(index, counts) for counts in found if counts is not None]
    return np.vstack(rows).astype(np.float64) if rows else np.zeros((0, 1))
