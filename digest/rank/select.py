"""Ordering and choosing: trending, the final score, and the diversity step for one email."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from digest.models import Paper, Pick, Profile, TrendSignal
from digest.rank.index import CorpusIndex
from digest.rank.matching import match_profile

TREND_HALF_LIFE_DAYS = 3.0
TREND_HALF_SATURATION = 4.0  # raw attention at which trending is 0.5
OTHER_TOPIC_LABEL = "other"
PROMOTE_RATIO = 0.8  # a topic over its share yields a slot only to a pick this good


def _age_days(paper: Paper, now: dt.datetime) -> float:
    when = paper.published or paper.first_seen
    if when is None:
        return 0.0
    if (when.tzinfo is None) != (now.tzinfo is None):
        when = when.replace(tzinfo=now.tzinfo)
    return max((now - when).total_seconds() / 86400.0, 0.0)


def trending_score(signal: TrendSignal | None, paper: Paper, now: dt.datetime) -> float:
    """Attention in 0..1: extra sources, mentions and damped upvotes, halved every 3 days.

    One source is just being listed, so it earns nothing; no signal means 0 for everyone.
    """
    if signal is None:
        return 0.0
    raw = (
        max(signal.sources - 1, 0)
        + math.log1p(max(signal.mentions, 0))
        + math.log1p(max(signal.upvotes, 0.0))
        + (0.5 if signal.cross_listed else 0.0)
    )
    raw *= 0.5 ** (_age_days(paper, now) / TREND_HALF_LIFE_DAYS)
    return raw / (raw + TREND_HALF_SATURATION)


def _trend_reasons(signal: TrendSignal | None) -> tuple[str, ...]:
    if signal is None:
        return ()
    reasons = []
    if signal.sources >= 2:
        reasons.append(f"mentioned in {signal.sources} sources")
    upvotes = int(signal.upvotes)
    if upvotes >= 1:
        reasons.append(f"{upvotes} upvote{'s' if upvotes != 1 else ''}")
    return tuple(reasons)


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
    t = min(max(profile.trending, 0.0), 1.0)
    matches = match_profile(profile, index, seed_papers)
    excluded = set(exclude_paper_ids)
    picks: list[Pick] = []
    for doc, paper in enumerate(index.papers):
        if paper.id in excluded:
            continue
        match = matches.get(doc)
        signal = signals.get(paper.id)
        trending = trending_score(signal, paper, now)
        relevance = match.relevance if match else 0.0
        if relevance <= 0 and not (t >= 1.0 and trending > 0):
            continue
        score = round((1.0 - t) * relevance + t * trending, 9)
        if score < profile.min_score:
            continue
        reasons = (match.reasons if match else ()) + (_trend_reasons(signal) if t > 0 else ())
        picks.append(
            Pick(
                paper=paper,
                score=score,
                relevance=round(relevance, 9),
                trending=round(trending, 9),
                topic=match.topic if match else None,
                reasons=reasons,
            )
        )
    picks.sort(key=lambda pick: (-pick.score, pick.paper.id))
    return picks


def _topic_cap(counts: Mapping[str, int], slots: int) -> int:
    """The smallest per-topic cap that still fills ``slots`` (water-filling)."""
    cap = 1
    while sum(min(count, cap) for count in counts.values()) < slots:
        cap += 1
    return cap


def choose_for_digest(
    picks: Sequence[Pick], per_digest: int
) -> tuple[list[Pick], list[tuple[str, int]]]:
    """The picks an email shows (best first) and the rest as (topic, count) for "+N more".

    Topics share the slots: each gets the smallest equal cap that fills the digest, but a topic
    past its cap still takes the next slot when the best pick of the other topics scores less
    than PROMOTE_RATIO of it (a weak match is not worth the slot), and one slot always goes to
    another topic when there is one, so no single topic fills the whole digest.
    """
    ordered = sorted(picks, key=lambda pick: (-pick.score, pick.paper.id))
    slots = max(per_digest, 0)
    counts = Counter(_label(pick) for pick in ordered)
    cap = _topic_cap(counts, min(slots, len(ordered))) if ordered and slots else 0
    shown: list[Pick] = []
    taken: Counter[str] = Counter()
    left = list(ordered)
    while left and len(shown) < slots:
        best = left[0]
        other = next((p for p in left if taken[_label(p)] < cap), None)
        last_slot = len(shown) == slots - 1 and len(taken) == 1 and len(counts) > 1
        if other is not None and taken[_label(best)] >= cap:
            if other.score >= PROMOTE_RATIO * best.score or last_slot:
                best = other
        elif last_slot and _label(best) in taken:
            best = next((p for p in left if _label(p) not in taken), best)
        shown.append(best)
        left.remove(best)
        taken[_label(best)] += 1
    shown.sort(key=lambda pick: (-pick.score, pick.paper.id))
    overflow = Counter({label: counts[label] - taken[label] for label in counts})
    return shown, sorted(
        ((label, n) for label, n in overflow.items() if n > 0), key=lambda item: (-item[1], item[0])
    )


def _label(pick: Pick) -> str:
    return pick.topic or OTHER_TOPIC_LABEL
