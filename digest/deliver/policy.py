"""The retry and bounce policy as plain values: what the send loop takes instead of Settings.

- A temporary failure (4xx, network) is tried again after a backoff with jitter: attempt n waits
  ``base * factor**(n-1)`` (at most ``cap``), in the upper half at random, so 5 attempts span
  about a day. After ``max_attempts`` the row fails and counts as one soft bounce.
- A permanent failure (5xx) fails at once and counts as one hard bounce.
- A claim older than ``stale_claim`` whose process cannot be asked is taken as abandoned.

Bounces count the same whether the SMTP session said so or a report came back later (see
:mod:`digest.deliver.bounces`). A subscriber reaching ``hard_limit`` hard bounces, or a soft
count of ``soft_limit`` within ``soft_days`` days, is suspended (and so suppressed) until they
re-confirm. The soft count decays: each digest sent without a bounce takes one off (see
:func:`soft_count`). A complaint unsubscribes and suppresses at once, and is counted apart: when
complaints pass ``complaint_rate`` of the digests sent in the last ``complaint_days`` days, a
run sends nothing and says why.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from digest.config import Settings


@dataclass(frozen=True)
class Backoff:
    """How long a deferred delivery waits before its next attempt."""

    base: dt.timedelta = dt.timedelta(minutes=40)
    factor: int = 3
    cap: dt.timedelta = dt.timedelta(hours=20)

    def delay(self, attempts: int, rng: random.Random) -> dt.timedelta:
        """The wait after ``attempts`` failed tries: 40 min, 2 h, 6 h, 18 h, each × [0.5, 1)."""
        ceiling = min(self.base * self.factor ** max(attempts - 1, 0), self.cap)
        return ceiling * (0.5 + rng.random() / 2)


@dataclass(frozen=True)
class RetryPolicy:
    """When a temporary failure is tried again, and when a claim counts as abandoned."""

    max_attempts: int
    backoff: Backoff = field(default_factory=Backoff)
    stale_claim: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(max_attempts=settings.smtp_max_attempts)


@dataclass(frozen=True)
class BouncePolicy:
    """When failed deliveries suspend their subscriber."""

    hard_limit: int
    soft_limit: int
    soft_days: int
    complaint_rate: float = 0.003
    complaint_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> BouncePolicy:
        return cls(
            hard_limit=settings.bounce_hard_limit,
            soft_limit=settings.bounce_soft_limit,
            soft_days=settings.bounce_soft_days,
            complaint_rate=settings.bounce_complaint_rate,
            complaint_days=settings.bounce_complaint_days,
        )

    def soft_since(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(days=self.soft_days)

    def complaints_too_many(self, complaints: int, sent: int) -> bool:
        """True when complaints pass the rate (any complaint with nothing sent counts as such)."""
        return complaints > 0 and complaints > self.complaint_rate * sent


def soft_count(soft_at: Sequence[dt.datetime], good_at: Sequence[dt.datetime]) -> int:
    """Soft bounces in the window, less one for each good delivery after them (never below 0).

    Walked in time order, so a good digest only forgives bounces before it: three soft bounces
    in a row after a good one still count three.
    """
    moments = sorted([(t, 1) for t in soft_at] + [(t, -1) for t in good_at])
    count = 0
    for _, step in moments:
        count = max(count + step, 0)
    return count
