"""The retry and bounce policy as plain values: what the send loop takes instead of Settings.

- A temporary failure (4xx, network) is tried again after a backoff with jitter: attempt n waits
  ``base * factor**(n-1)`` (at most ``cap``), in the upper half at random, so 5 attempts span
  about a day. After ``max_attempts`` the row fails and counts as one soft bounce.
- A permanent failure (5xx) fails at once and counts as one hard bounce.
- A claim older than ``stale_claim`` whose process cannot be asked is taken as abandoned.

A subscriber reaching ``hard_limit`` hard bounces, or ``soft_limit`` soft-failed digests within
``soft_days`` days, is suspended (and so suppressed) until they re-confirm.
"""

from __future__ import annotations

import datetime as dt
import random
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

    @classmethod
    def from_settings(cls, settings: Settings) -> BouncePolicy:
        return cls(
            hard_limit=settings.bounce_hard_limit,
            soft_limit=settings.bounce_soft_limit,
            soft_days=settings.bounce_soft_days,
        )
