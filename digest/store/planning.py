"""What planning one digest date reads and writes, a chunk of subscribers at a time.

Planning walks subscriber ids in chunks, reads each chunk's already-sent papers in one query and
writes a chunk's deliveries as one batched INSERT, so memory stays flat and the database sees a
few statements per chunk instead of a few per subscriber. Picks are written once per edition
(each distinct digest of the run), not once per subscriber.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digest.models import PaperUpdate, Pick
from digest.store.editions import EditionKey, edition_key, record_editions, stored_updates
from digest.store.schema import Delivery, SubscriberRow


@dataclass(frozen=True)
class PlannedDelivery:
    """One subscriber's digest (or "nothing matched" note) as planning decided it."""

    subscriber_id: int
    date: dt.date
    kind: str
    picks: Sequence[Pick]
    overflow: Sequence[tuple[str, int]]
    themes: Sequence[str]
    message_id: str
    updates: Sequence[PaperUpdate] = ()


def confirmed_subscriber_ids(session: Session) -> list[int]:
    """In id order, so planning's chunks walk every subscriber once."""
    query = select(SubscriberRow.id).where(SubscriberRow.state == "confirmed")
    return list(session.scalars(query.order_by(SubscriberRow.id)))


def record_planned_many(
    session: Session,
    plans: Sequence[PlannedDelivery],
    *,
    now: dt.datetime,
    editions: dict[EditionKey, int],
) -> set[int]:
    """Write the deliveries of ``plans``; the subscriber ids whose rows are new.

    ``editions`` maps the picks already recorded in this run to their edition; picks not in it
    become new editions, added to it. A (subscriber, date) that already has a row, perhaps
    recorded by another process meanwhile, is left alone (INSERT .. ON CONFLICT DO NOTHING).
    Nothing is read before the INSERTs, so on SQLite the transaction starts by taking the write
    lock and never has to upgrade a stale read snapshot ("database is locked" at once,
    whatever the busy timeout).
    """
    if not plans:
        return set()
    dialect = session.get_bind().dialect.name
    keys = [edition_key(plan.picks) if plan.picks else None for plan in plans]
    new = {key: plan for key, plan in zip(keys, plans, strict=True) if key and key not in editions}
    if new:
        fresh = [(key, plan.date, plan.picks) for key, plan in new.items()]
        record_editions(session, fresh, editions, now=now)
    rows = [
        _delivery_row(plan, editions[key] if key else None, now)
        for key, plan in zip(keys, plans, strict=True)
    ]
    if dialect == "postgresql":
        return _insert_deliveries_postgresql(session, rows)
    statement = (
        sqlite_insert(Delivery)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "digest_date"])
        .returning(Delivery.subscriber_id)
    )
    return set(session.scalars(statement, rows))


def _delivery_row(
    plan: PlannedDelivery, edition_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    """The INSERT values of one planned delivery: pending, due at once."""
    return dict(
        subscriber_id=plan.subscriber_id,
        digest_date=plan.date,
        kind=plan.kind,
        state="pending",
        attempts=0,
        message_id=plan.message_id,
        overflow=[list(o) for o in plan.overflow],
        themes=list(plan.themes),
        updates=stored_updates(plan.updates),
        edition_id=edition_id,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )


_DELIVERY_ARRAYS = {  # column: the array type its values travel as
    "subscriber_id": "integer[]",
    "kind": "text[]",
    "message_id": "text[]",
    "overflow": "json[]",
    "themes": "json[]",
    "updates": "json[]",
    "edition_id": "integer[]",
}
_DELIVERY_SAME = {  # column: its type; one value for every row of a batch
    "digest_date": "date",
    "state": "text",
    "attempts": "integer",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "next_attempt_at": "timestamptz",
}
_INSERT_DELIVERIES = text(
    f"INSERT INTO {Delivery.__tablename__} ({', '.join([*_DELIVERY_ARRAYS, *_DELIVERY_SAME])}) "
    "SELECT *, "
    + ", ".join(f"CAST(:{column} AS {kind})" for column, kind in _DELIVERY_SAME.items())
    + " FROM unnest("
    + ", ".join(f"CAST(:{column} AS {kind})" for column, kind in _DELIVERY_ARRAYS.items())
    + ") ON CONFLICT (subscriber_id, digest_date) DO NOTHING RETURNING subscriber_id"
)


def _insert_deliveries_postgresql(session: Session, rows: Sequence[dict[str, Any]]) -> set[int]:
    """One INSERT .. SELECT FROM unnest(arrays): a short statement, one parameter per column,
    and a single value for the columns every row of the batch shares.

    The multi-row VALUES form has a placeholder per value, so each batch is a new statement
    that psycopg parses again and PostgreSQL plans again.
    """
    batches: dict[tuple[Any, ...], dict[str, Any]] = {}  # usually one: a run plans one date
    for row in rows:
        shared = tuple(row[column] for column in _DELIVERY_SAME)
        if shared not in batches:
            batches[shared] = {column: [] for column in _DELIVERY_ARRAYS}
            batches[shared].update(zip(_DELIVERY_SAME, shared, strict=True))
        for column in _DELIVERY_ARRAYS:
            value = row[column]
            is_json = column in ("overflow", "themes", "updates") and value is not None
            batches[shared][column].append(json.dumps(value) if is_json else value)
    inserted: set[int] = set()
    for parameters in batches.values():
        inserted |= set(session.scalars(_INSERT_DELIVERIES, parameters))
    return inserted
