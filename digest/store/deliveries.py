"""The outbox: delivery rows and their state machine.

pending → sending → sent | failed | deferred | ambiguous. A row is written (with its picks)
before anything is sent, and the unique (subscriber, date) constraint makes a second row for the
same digest impossible, so a rerun or a crash can never mail the same digest twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Update, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from digest.store.claimants import claim_is_dead, worker_id
from digest.store.schema import Delivery, SubscriberRow

OPEN_STATES = ("pending", "deferred")
# A paper counts as sent to a subscriber unless its delivery failed for good.
HOLDS_PAPERS = ("pending", "sending", "sent", "deferred", "ambiguous")


def dates_with_delivery(session: Session, date: dt.date) -> set[int]:
    """Subscriber ids that already have a delivery row for this digest date."""
    query = select(Delivery.subscriber_id).where(Delivery.digest_date == date)
    return set(session.scalars(query))


def recover_abandoned(
    session: Session, *, now: dt.datetime, stale_after: dt.timedelta
) -> dict[str, int]:
    """Rows left in `sending` by a process that is gone: ambiguous if DATA began, else pending."""
    host = socket.gethostname()
    counts = {"ambiguous": 0, "pending": 0}
    for row in session.scalars(select(Delivery).where(Delivery.state == "sending")):
        if not claim_is_dead(row, host, now, stale_after):
            continue
        if row.data_started_at is not None:
            row.state = "ambiguous"
            row.last_message = "process stopped after DATA began; delivery unknown"
            counts["ambiguous"] += 1
        else:
            row.state = "pending"
            counts["pending"] += 1
        row.claimed_by = None
        row.updated_at = now
    return counts


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A row as :func:`claim_due` hands it out: what sending it needs, without an ORM object."""

    id: int
    subscriber_id: int
    digest_date: dt.date
    kind: str
    attempts: int
    message_id: str
    edition_id: int | None
    overflow: list[Any]
    themes: list[str]
    updates: list[Any] | None


_CLAIMED_COLUMNS = tuple(getattr(Delivery, name) for name in ClaimedDelivery.__dataclass_fields__)


def claim_due(
    session: Session,
    *,
    now: dt.datetime,
    limit: int,
    subscriber_id: int | None = None,
    share: tuple[int, int] | None = None,
) -> list[ClaimedDelivery]:
    """Take up to `limit` due rows for this process, by id; the caller should commit at once.

    One conditional UPDATE picks and claims the rows, so two processes never claim the same
    row: SQLite runs the statement under its write lock, PostgreSQL skips rows another worker
    has locked. Only rows this statement changed (RETURNING) are handed back. ``share``
    ``(k, n)`` takes only rows whose edition (or, for a note without one, subscriber) is k
    modulo n: processes that each take their own share render each edition in one process.
    """
    due = (  # in no particular order: sorting every due row for each claim costs more
        select(Delivery.id)  # than it is worth, and a run sends them all anyway
        .where(Delivery.state.in_(OPEN_STATES), Delivery.next_attempt_at <= now)
        .limit(limit)
    )
    if subscriber_id is not None:
        due = due.where(Delivery.subscriber_id == subscriber_id)
    if share is not None:
        edition = func.coalesce(Delivery.edition_id, Delivery.subscriber_id)
        due = due.where(edition % share[1] == share[0])
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.state.in_(OPEN_STATES))
        .values(
            state="sending",
            claimed_by=worker_id(),
            claimed_at=now,
            updated_at=now,
            data_started_at=None,
        )
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    return sorted((ClaimedDelivery(*row) for row in session.execute(claim)), key=_by_id)


def _by_id(row: ClaimedDelivery) -> int:
    return row.id


@functools.cache
def data_started_statement() -> Update:
    """Built once: the send loop runs it for every message, so construction cost matters."""
    return (
        update(Delivery)
        .where(Delivery.id == bindparam("delivery_id"))
        .values(
            data_started_at=bindparam("now"),
            attempts=Delivery.attempts + 1,
            updated_at=bindparam("now"),
        )
    )


@dataclass(frozen=True)
class FinalOutcome:
    """A `sent` or `ambiguous` result for one row, as record_final_outcomes writes it."""

    delivery_id: int
    state: str
    code: int | None
    message: str

    def values(self, now: dt.datetime) -> dict[str, Any]:
        """The bound values of :func:`final_outcome_statement` for this outcome."""
        return {
            "delivery_id": self.delivery_id,
            "state": self.state,
            "code": self.code,
            "message": self.message[:2000],
            "now": now,
            "sent_at": now if self.state == "sent" else None,
        }


@functools.cache
def final_outcome_statement() -> Update:
    """Built once, like :func:`data_started_statement`: the send journal runs it in bulk."""
    return (
        update(Delivery)
        .where(Delivery.id == bindparam("delivery_id"))
        .values(
            state=bindparam("state"),
            last_code=bindparam("code"),
            last_message=bindparam("message"),
            updated_at=bindparam("now"),
            claimed_by=None,
            next_attempt_at=None,
            sent_at=bindparam("sent_at"),
        )
    )


def record_final_outcomes(
    connection: Connection, outcomes: Sequence[FinalOutcome], *, now: dt.datetime
) -> None:
    """Write many sent/ambiguous outcomes as one executemany (the common case of a send loop)."""
    if outcomes:
        connection.execute(final_outcome_statement(), [o.values(now) for o in outcomes])


def record_outcome(
    session: Session,
    delivery_id: int,
    *,
    state: str,
    code: int | None,
    message: str,
    now: dt.datetime,
    next_attempt_at: dt.datetime | None = None,
    count_attempt: bool = False,
) -> None:
    """One row's outcome; ``sent_at`` is written only for ``sent``, and attempts counted only
    when asked (an attempt that reached DATA was counted when DATA began)."""
    values: dict[str, Any] = dict(
        state=state,
        last_code=code,
        last_message=message[:2000],
        updated_at=now,
        claimed_by=None,
        next_attempt_at=next_attempt_at,
    )
    if state == "sent":
        values["sent_at"] = now
    if count_attempt:
        values["attempts"] = Delivery.attempts + 1
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def list_deliveries(
    session: Session, *, state: str | None = None, date: dt.date | None = None
) -> list[tuple[Delivery, str]]:
    """Rows with their subscriber's address, oldest digest first, for operators and tests."""
    query = (
        select(Delivery, SubscriberRow.email)
        .join(SubscriberRow, SubscriberRow.id == Delivery.subscriber_id)
        .order_by(Delivery.digest_date, Delivery.id)
    )
    if state:
        query = query.where(Delivery.state == state)
    if date:
        query = query.where(Delivery.digest_date == date)
    return [(row, email) for row, email in session.execute(query)]


def retry_now(session: Session, *, now: dt.datetime, subscriber_id: int | None) -> int:
    """Deferred rows become due now; failed or ambiguous ones only for a named subscriber."""
    states = ["deferred"] + (["failed", "ambiguous"] if subscriber_id is not None else [])
    query = update(Delivery).where(Delivery.state.in_(states))
    if subscriber_id is not None:
        query = query.where(Delivery.subscriber_id == subscriber_id)
    result = session.execute(query.values(state="pending", next_attempt_at=now, updated_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def soft_failed_days(session: Session, subscriber_id: int, *, since: dt.date) -> int:
    """Digest dates since ``since`` whose delivery failed for good on a temporary error."""
    query = select(func.count(func.distinct(Delivery.digest_date))).where(
        Delivery.subscriber_id == subscriber_id,
        Delivery.digest_date >= since,
        Delivery.state == "failed",
        or_(Delivery.last_code.is_(None), Delivery.last_code.between(400, 499)),
    )
    return int(session.scalar(query) or 0)


def find_delivery(session: Session, subscriber_id: int, date: dt.date) -> Delivery | None:
    """The row of one digest (there is at most one per subscriber and date)."""
    query = select(Delivery).where(
        Delivery.subscriber_id == subscriber_id, Delivery.digest_date == date
    )
    return session.scalars(query).first()


RESOLUTIONS = ("sent", "retry")


def resolve_ambiguous(
    session: Session, subscriber_id: int, date: dt.date, *, outcome: str, now: dt.datetime
) -> Delivery:
    """An operator's verdict on an ambiguous row: it did arrive (sent), or send it again (retry).

    Raises LookupError when there is no such row and ValueError when it is not ambiguous.
    """
    if outcome not in RESOLUTIONS:
        raise ValueError(f"resolve as one of {', '.join(RESOLUTIONS)}, not {outcome!r}")
    row = find_delivery(session, subscriber_id, date)
    if row is None:
        raise LookupError(f"no delivery for that subscriber on {date.isoformat()}")
    if row.state != "ambiguous":
        raise ValueError(f"that delivery is {row.state}, not ambiguous")
    row.updated_at = now
    if outcome == "sent":
        row.state, row.sent_at = "sent", row.data_started_at or now
        row.last_message = f"resolved as sent by an operator; was: {row.last_message or ''}"
    else:
        row.state, row.next_attempt_at = "pending", now
        row.last_message = f"resolved for retry by an operator; was: {row.last_message or ''}"
    session.flush()
    return row
