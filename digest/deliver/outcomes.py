"""What a send result does to a delivery row and its subscriber, by the policy in
:mod:`digest.deliver.policy`.

- ``sent`` and ``ambiguous`` are final (ambiguous waits for an operator).
- ``temporary`` (4xx, network) is deferred with backoff until the attempts run out; then the
  row fails and counts as one soft bounce.
- ``permanent`` (5xx) fails at once and counts as one hard bounce.
- Soft bounces decay: each digest sent since takes one off (see deliver.policy.soft_count).

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

from digest.deliver.bounces import suspend_if_soft_limit
from digest.deliver.policy import Backoff, BouncePolicy, RetryPolicy
from digest.deliver.transport import SendResult
from digest.store import deliveries, subscribers
from digest.store.db import Database, Session
from digest.store.schema import SubscriberRow


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
    halted: str | None = None  # why nothing was sent (the complaint rate), if so

    def add(self, other: DeliveryReport) -> None:
        """Fold in what another sending process reports."""
        for name in ("sent", "deferred", "failed", "ambiguous", "skipped", "suspended"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for state, count in other.recovered.items():
            self.recovered[state] = self.recovered.get(state, 0) + count
        self.outbox = self.outbox or other.outbox
        self.halted = self.halted or other.halted


def backoff_delay(attempts: int, rng: random.Random) -> dt.timedelta:
    """The default wait after ``attempts`` failed tries (see :class:`Backoff`)."""
    return Backoff().delay(attempts, rng)


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
        retry: RetryPolicy,
        bounces: BouncePolicy,
        report: DeliveryReport,
        *,
        now: dt.datetime,
        rng: random.Random,
        batch: int = 64,
    ) -> None:
        self.db, self.retry, self.bounces, self.report = db, retry, bounces, report
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
        retry = result.outcome == "temporary" and attempts < self.retry.max_attempts
        deliveries.record_outcome(
            session,
            delivery_id,
            state="deferred" if retry else "failed",
            code=result.code,
            message=result.detail,
            now=now,
            count_attempt=count_attempt,
            next_attempt_at=now + self.retry.backoff.delay(attempts, self.rng) if retry else None,
        )
        if retry:
            report.deferred += 1
            return
        report.failed += 1
        if self._bounce(session, attempt.subscriber_id, hard=result.outcome == "permanent"):
            report.suspended += 1

    def _bounce(self, session: Session, subscriber_id: int, *, hard: bool) -> bool:
        """Count a hard or soft bounce; True when it suspended the subscriber.

        The same policy as for reports that come back later (deliver.bounces.apply_event),
        but a failed delivery row is itself the soft bounce: no report row is written.
        """
        policy, now = self.bounces, self.now
        row = session.get(SubscriberRow, subscriber_id)
        if row is None or row.state != "confirmed":
            return False
        if hard:
            subscribers.record_hard_bounce(session, subscriber_id, now=now, limit=policy.hard_limit)
            return row.state == "suspended"
        row.soft_bounces += 1
        return suspend_if_soft_limit(session, row, policy=policy, now=now)
