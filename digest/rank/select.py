"""Ordering and choosing: trending, the final score, and which picks fill one email's slots."""

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
TOPIC_CAP_SHARE = 0.4  # no topic takes more of the slots while another topic has a pick left


def _age_days(paper: Paper, now: dt.datetime) -> float:
    when = paper.published or paper.first_seen
    if when is None:
        return 0.0
    if (when.tzinfo is None) != (now.tzinfo is None):
        when = when.replace(tzinfo=now.tzinfo)
    return max((now - when).total_seconds() / 86400.0, 0.0)


def trend_clock(date: dt.date, now: dt.datetime) -> dt.datetime:
    """The moment trending decays from for the digest of ``date``: the end of that (UTC) day,
    or ``now`` when that is earlier. A preview of an old date, a backfill or the demo then
    sees the day's attention as the day saw it, not as faded by the time since."""
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if now.tzinfo is None:
        end = end.replace(tzinfo=None)
    return min(now, end)


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
    (none of those can be shown), which lets the batch path skip building them. Every topic
    of the reader's is served first: its best pick takes a slot (better topics first when
    there are fewer slots than topics). The rest go by score, no topic past TOPIC_CAP_SHARE of
    the slots; only when the cap leaves slots empty do they go past it. "other" (a pick that
    serves none of the reader's topics: a seed's or a followed author's neighbour) is not a
    topic: it is neither served first nor let in by the cap, only by its score in the last pass,
    so a weak neighbour of one click cannot push a topic's strong pick out of the email.
    """
    slots = max(per_digest, 0)
    labels = [label for _, label in entries]
    cap = max(1, math.ceil(TOPIC_CAP_SHARE * slots))
    firsts: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label != OTHER_TOPIC_LABEL:
            firsts.setdefault(label, i)
    chosen = set(sorted(firsts.values())[:slots])
    taken = Counter(labels[i] for i in chosen)
    for capped in (True, False):
        for i, label in enumerate(labels):
            if len(chosen) >= slots:
                break
            if capped and label == OTHER_TOPIC_LABEL:
                continue
            if i not in chosen and (not capped or taken[label] < cap):
                chosen.add(i)
                taken[label] += 1
    shown = sorted(chosen)
    overflow = Counter({label: counts[label] - taken[label] for label in counts})
    return shown, sorted(
        ((label, n) for label, n in overflow.items() if n > 0), key=lambda item: (-item[1], item[0])
    )


def _label(pick: Pick) -> str:
    return pick.topic or OTHER_TOPIC_LABEL
