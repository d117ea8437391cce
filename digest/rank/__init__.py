"""Ranking: (profile, candidate papers, trend signals, now) → ordered picks with reasons.

Pure and deterministic. The pipeline builds one :class:`CorpusIndex` per run with
:func:`build_index`, then calls :func:`rank` per subscriber and :func:`choose_for_digest` to
fill the email; ``digest preview`` and the web call the same three functions.
"""

from digest.rank.index import CorpusIndex, build_index
from digest.rank.matching import explain_exclusions
from digest.rank.select import choose_for_digest, rank, trending_score

__all__ = [
    "CorpusIndex",
    "build_index",
    "choose_for_digest",
    "explain_exclusions",
    "rank",
    "trending_score",
]
