"""Learning from clicks: a per-reader logistic regression on paper embeddings.

As Scholar Inbox does, a reader's ratings train a linear model: positives are the papers
rated "more", negatives those rated "less" plus a sample of background papers (weaker
negatives: most papers are not for any one reader). Its probability (not rescaled: a model
that is unsure stays close to 0.5 everywhere and moves little) is blended into the relevance
with a share that grows with the number of ratings, up to TASTE_MAX_SHARE:

    share = TASTE_MAX_SHARE * ratings / (ratings + TASTE_HALF_RATINGS)
    relevance = (1 - share) * relevance + share * taste

and a paper the topics do not admit enters when its taste reaches TASTE_ENTRY.
The model lives in ``Profile.learnt``; clicks never touch the reader's topics or weights.
Constants (with SEED_SHARE and NEGATIVE_SEED_SHARE of :mod:`.matching`, which clicks also
feed) were chosen with bench/relevance/feedback.py on the "tune" profiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.models import LearntTaste, Profile
from digest.rank.arrays import Embeddings, Flags, Floats
from digest.rank.index import CorpusIndex

MIN_RATINGS = 2  # fewer ratings than this teach nothing yet
TASTE_MAX_SHARE = 0.25
TASTE_HALF_RATINGS = 4.0
TASTE_ENTRY = 1.01  # above 1: the taste reorders what the topics admit, it admits nothing
# (letting it admit papers cost some simulated readers up to 0.16 nDCG on the tune half)
BACKGROUND_WEIGHT = 0.3  # a background paper counts this much as a negative
RIDGE = 1.0
NEWTON_STEPS = 12


def train_taste(
    model: str, positives: Embeddings, negatives: Embeddings, background: Embeddings
) -> LearntTaste | None:
    """Fit the reader's model by L2-regularised Newton steps (deterministic); None when there
    are fewer than MIN_RATINGS ratings or no "more" rating to learn a taste from."""
    ratings = len(positives) + len(negatives)
    if ratings < MIN_RATINGS or not len(positives):
        return None
    x = np.vstack([positives, negatives, background]).astype(np.float64)
    x = np.hstack([x, np.ones((len(x), 1))])
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives) + len(background))])
    sample = np.concatenate([np.ones(ratings), np.full(len(background), BACKGROUND_WEIGHT)]) / max(
        ratings + BACKGROUND_WEIGHT * len(background), 1.0
    )
    ridge = np.full(x.shape[1], RIDGE / max(ratings, 1))
    ridge[-1] = 0.0  # the bias is not shrunk
    w = np.zeros(x.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (sample * (p - y)) + ridge * w
        hessian = (x * (sample * p * (1.0 - p))[:, None]).T @ x + np.diag(ridge + 1e-9)
        w = w - np.linalg.solve(hessian, gradient)
    weights = tuple(round(float(v), 6) for v in w[:-1])
    return LearntTaste(model=model, ratings=ratings, weights=weights, bias=round(float(w[-1]), 6))


def taste_share(ratings: int) -> float:
    """How much of the relevance the learnt model decides, growing with the ratings."""
    if ratings < MIN_RATINGS:
        return 0.0
    return TASTE_MAX_SHARE * ratings / (ratings + TASTE_HALF_RATINGS)


def usable_taste(profile: Profile, index: CorpusIndex) -> LearntTaste | None:
    taste = profile.learnt
    if taste is None or index.vectors is None or index.embedder is None:
        return None
    if taste.model != index.embedder.name or len(taste.weights) != index.vectors.shape[1]:
        return None
    return taste


def blend_taste(
    profiles: Sequence[Profile],
    index: CorpusIndex,
    relevance: Floats,
    admitted: Flags,
    dropped: Flags,
) -> tuple[Floats, Flags]:
    """(relevance with each reader's learnt taste blended in, entered on taste alone)."""
    relevance = relevance.copy()
    entered = np.zeros(relevance.shape, dtype=bool)
    for i, profile in enumerate(profiles):
        taste = usable_taste(profile, index)
        if taste is None or index.vectors is None or not index.size:
            continue
        weights = np.asarray(taste.weights, dtype=np.float64)
        logits = index.vectors.astype(np.float64) @ weights + taste.bias
        scores = 1.0 / (1.0 + np.exp(-logits))
        share = taste_share(taste.ratings)
        entered[i] = ~admitted[i] & ~dropped[i] & (scores >= TASTE_ENTRY)
        keep = (admitted[i] | entered[i]) & ~dropped[i]
        relevance[i] = np.where(keep, (1.0 - share) * relevance[i] + share * scores, 0.0)
    return relevance, entered
