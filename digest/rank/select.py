"""Ordering and choosing: trending, the final score, and the diversity step for one email."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping, Sequence

from digest.models import Paper, Pick, TrendSignal
from digest.render.trend_words import trend_words

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
    raw *= math.pow(0.5, _age_days(paper, now) / TREND_HALF_LIFE_DAYS)
    return raw / (raw + TREND_HALF_SATURATION)


def trend_reasons(signal: TrendSignal | None) -> tuple[str, ...]:
    """The trending reason in the one wording the email and the site share."""
    words = trend_words(signal)
    return (words,) if words else ()


def _topic_cap(counts: Mapping[str, int], slots: int) -> int:
    """The smallest per-topic cap that still fills ``slots`` (water-filling)."""
    cap = 1
    while sum(min(count, cap) for count in counts.values()) < slots:
        cap += 1
    return cap


def choose_for_digest(
    picks: Sequence[Pick], per_digest: int
) -> tuple[list[Pick], list[tuple[str, int]]]:
    """The picks an email shows (best first) and the rest as (topic, count) for "+N more"."""
    ordered = sorted(picks, key=lambda pick: (-pick.score, pick.paper.id))
    counts = Counter(_label(pick) for pick in ordered)
    shown, overflow = choose_slots(
        [(pick.score, _label(pick)) for pick in ordered], per_digest, counts
    )
    return [ordered[i] for i in shown], overflow


def choose_slots(
    entries: Sequence[tuple[float, str]], per_digest: int, counts: Mapping[str, int]
) -> tuple[list[int], list[tuple[str, int]]]:
    """Positions in ``entries`` (score, topic label), best first, that fill the digest, and the
    (topic, count) left over, given ``counts``: how many picks each topic has in all.

    ``entries`` may leave out any pick that is not among the best ``per_digest`` of its topic
    (none of those can be shown), which lets the batch path skip building them. Topics share
    the slots: each gets the smallest equal cap that fills the digest, but a topic past its cap
    still takes the next slot when the best pick of the other topics scores less than
    PROMOTE_RATIO of it (a weak match is not worth the slot), and one slot always goes to
    another topic when there is one, so no single topic fills the whole digest.
    """
    slots = max(per_digest, 0)
    total = sum(counts.values())
    cap = _topic_cap(counts, min(slots, total)) if total and slots else 0
    shown: list[int] = []
    taken: Counter[str] = Counter()
    labels = [label for _, label in entries]
    left = list(range(len(entries)))
    while left and len(shown) < slots:
        best = left[0]
        over = taken[labels[best]] >= cap
        other = next((i for i in left if taken[labels[i]] < cap), None) if over else None
        last_slot = len(shown) == slots - 1 and len(taken) == 1 and len(counts) > 1
        if other is not None:
            if entries[other][0] >= PROMOTE_RATIO * entries[best][0] or last_slot:
                best = other
        elif last_slot and labels[best] in taken:
            best = next((i for i in left if labels[i] not in taken), best)
        shown.append(best)
        left.remove(best)
        taken[labels[best]] += 1
    shown.sort()
    overflow = Counter({label: counts[label] - taken[label] for label in counts})
    return shown, sorted(
        ((label, n) for label, n in overflow.items() if n > 0), key=lambda item: (-item[1], item[0])
    )


def _label(pick: Pick) -> str:
    return pick.topic or OTHER_TOPIC_LABEL
