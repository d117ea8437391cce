"""What a send result does to a delivery row and its subscriber: the retry and bounce policy.

- ``sent`` and ``ambiguous`` are final (ambiguous waits for an operator).
- ``temporary`` (4xx, network) is deferred with exponential backoff and jitter: attempt n waits
  ``BACKOFF_BASE * 3**(n-1)``, in the upper half at random, so 5 attempts span about a day.
  When the attempts run out the row fails and counts as one soft bounce.
- ``permanent`` (5xx) fails at once and counts as one hard bounce.

A subscriber reaching ``bounce_hard_limit`` hard bounces, or ``bounce_soft_limit`` soft-failed
digests within ``bounce_soft_days`` days, is suspended (and so suppressed) until they re-confirm.

Outcomes are not committed one by one: they ride along with the next commit the send loop makes
anyway ("DATA began" for the next message, durable before its body goes out), or with a batch of
their own. A crash between a reply and that commit leaves the row ``sending`` with DATA begun,
which the next run reports as ambiguous: never resent, never lost.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.config import Settings
from digest.deliver.transport import SendResult
from digest.store import deliveries, subscribers
from digest.store.db import Database, Session
from digest.store.schema import SubscriberRow

BACKOFF_BASE = dt.timedelta(minutes=40)
BACKOFF_FACTOR = 3
BACKOFF_CAP = dt.timedelta(hours=20)


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    ambiguous: int = 0
    skipped: int = 0
    suspended: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    outbox: Path | None = None

    def add(self, other: DeliveryReport) -> None:
        """Fold in what another sending process reports."""
        for name in ("sent", "deferred", "failed", "ambiguous", "skipped", "suspended"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for state, count in other.recovered.items():
            self.recovered[state] = self.recovered.get(state, 0) + count
        self.outbox = self.outbox or other.outbox


def backoff_delay(attempts: int, rng: random.Random) -> dt.timedelta:
    """The wait after ``attempts`` failed tries: 40 min, 2 h, 6 h, 18 h, each × [0.5, 1)."""
    ceiling = min(BACKOFF_BASE * BACKOFF_FACTOR ** max(attempts - 1, 0), BACKOFF_CAP)
    return ceiling * (0.5 + rng.random() / 2)


@dataclass(frozen=True)
class Attempt:
    """One finished send: which row and subscriber, and what the transport said."""

    delivery_id: int
    subscriber_id: int
    attempts_before: int  # the row's attempt count when it was claimed
    result: SendResult


FINAL_OUTCOMES = frozenset({"sent", "ambiguous"})  # need no further decision


class OutcomeRecorder:
    """Collects send results and writes them ``batch`` at a time in one transaction."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        report: DeliveryReport,
        *,
        now: dt.datetime,
        rng: random.Random,
        batch: int = 64,
    ) -> None:
        self.db, self.settings, self.report = db, settings, report
        self.now, self.rng, self.batch = now, rng, batch
        self.pending: list[Attempt] = []

    def add(self, attempt: Attempt) -> None:
        self.pending.append(attempt)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Commit the collected outcomes in a transaction of their own."""
        if self.pending:
            with self.db.session() as session:
                self.write(session)

    def write(self, session: Session) -> None:
        """Add the collected outcomes to ``session``: they commit with the caller's own write."""
        finals = self.take_finals()
        deliveries.record_final_outcomes(session.connection(), finals, now=self.now)
        self.count_finals(finals)
        rest, self.pending = self.pending, []
        for attempt in rest:
            self._record(session, attempt)

    def take_finals(self) -> list[deliveries.FinalOutcome]:
        """Remove and return the collected sent/ambiguous outcomes (nearly all of them).

        The send loop commits them with the next DATA-began mark, so a crash right after leaves
        finished messages recorded, not ambiguous; it counts them once that has committed.
        """
        finals = [a for a in self.pending if a.result.outcome in FINAL_OUTCOMES]
        if finals:
            self.pending = [a for a in self.pending if a.result.outcome not in FINAL_OUTCOMES]
        return [
            deliveries.FinalOutcome(a.delivery_id, a.result.outcome, a.result.code, a.result.detail)
            for a in finals
        ]

    def count_finals(self, finals: Sequence[deliveries.FinalOutcome]) -> None:
        for outcome in finals:
            self.report.sent += outcome.state == "sent"
            self.report.ambiguous += outcome.state == "ambiguous"

    def _record(self, session: Session, attempt: Attempt) -> None:
        result, now, report = attempt.result, self.now, self.report
        delivery_id = attempt.delivery_id
        count_attempt = not result.data_started  # counted already when DATA began
        attempts = attempt.attempts_before + 1
        retry = result.outcome == "temporary" and attempts < self.settings.smtp_max_attempts
        deliveries.record_outcome(
            session,
            delivery_id,
            state="deferred" if retry else "failed",
            code=result.code,
            message=result.detail,
            now=now,
            count_attempt=count_attempt,
            next_attempt_at=now + backoff_delay(attempts, self.rng) if retry else None,
        )
        if retry:
            report.deferred += 1
            return
        report.failed += 1
        if self._bounce(session, attempt.subscriber_id, hard=result.outcome == "permanent"):
            report.suspended += 1

    def _bounce(self, session: Session, subscriber_id: int, *, hard: bool) -> bool:
        """Count a hard or soft bounce; True when it suspended the subscriber."""
        settings, now = self.settings, self.now
        row = session.get(SubscriberRow, subscriber_id)
        if row is None or row.state != "confirmed":
            return False
        if hard:
            subscribers.record_hard_bounce(
                session, subscriber_id, now=now, limit=settings.bounce_hard_limit
            )
            return row.state == "suspended"
        row.soft_bounces += 1
        since = (now - dt.timedelta(days=settings.bounce_soft_days)).date()
        if deliveries.soft_failed_days(session, subscriber_id, since=since) < (
            settings.bounce_soft_limit
        ):
            return False
        subscribers.set_state(session, row, "suspended", now=now)
        return True
