"""Ranking: (profile, candidate papers, trend signals, now) → ordered picks with reasons.

Pure and deterministic. The pipeline builds one :class:`CorpusIndex` per run with
:func:`build_index`, then calls :func:`rank` per subscriber and :func:`choose_for_digest` to
fill the email; ``digest preview`` and the web call the same three functions. For many
subscribers, :func:`digests_many` gives exactly ``choose_for_digest(rank(...))`` per profile
(and :func:`rank_many` exactly ``rank``) from the same code, in vectorised chunks. Callers pass
``now=trend_clock(date, now)``, so trending decays on the digest's clock.
"""

from digest.rank.index import CorpusIndex, build_index
from digest.rank.ranking import digests_many, explain_exclusions, rank, rank_many
from digest.rank.select import choose_for_digest, trend_clock, trending_score

__all__ = [
    "CorpusIndex",
    "build_index",
    "choose_for_digest",
    "digests_many",
    "explain_exclusions",
    "rank",
    "rank_many",
    "trend_clock",
    "trending_score",
]
