"""What planning one digest date reads and writes, a chunk of subscribers at a time.

Planning used to load every subscriber at once and write one delivery per transaction; here it
walks subscriber ids in chunks, reads each chunk's already-sent papers in one query and writes a
chunk's deliveries and picks as two batched INSERTs, so memory stays flat and the database sees a
few statements per chunk instead of a few per subscriber.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digest.models import Subscriber
from digest.store.deliveries import HOLDS_PAPERS, PlannedDelivery
from digest.store.schema import Delivery, DeliveryItem, SubscriberRow
from digest.store.subscribers import to_subscriber

_ITEMS: Table = DeliveryItem.__table__  # type: ignore[assignment]


def confirmed_subscriber_ids(session: Session) -> list[int]:
    query = select(SubscriberRow.id).where(SubscriberRow.state == "confirmed")
    return list(session.scalars(query.order_by(SubscriberRow.id)))


def subscribers_by_ids(session: Session, subscriber_ids: Sequence[int]) -> list[Subscriber]:
    query = select(SubscriberRow).where(SubscriberRow.id.in_(subscriber_ids))
    return [to_subscriber(row) for row in session.scalars(query.order_by(SubscriberRow.id))]


def sent_paper_ids_many(session: Session, subscriber_ids: Sequence[int]) -> dict[int, set[int]]:
    """Per subscriber, the papers already held by one of their deliveries (see sent_paper_ids)."""
    sent: dict[int, set[int]] = {sid: set() for sid in subscriber_ids}
    query = (
        select(DeliveryItem.subscriber_id, DeliveryItem.paper_id)
        .join(Delivery, Delivery.id == DeliveryItem.delivery_id)
        .where(DeliveryItem.subscriber_id.in_(subscriber_ids), Delivery.state.in_(HOLDS_PAPERS))
    )
    for subscriber_id, paper_id in session.execute(query):
        sent[subscriber_id].add(paper_id)
    return sent


def record_planned_many(
    session: Session, plans: Sequence[PlannedDelivery], *, now: dt.datetime
) -> set[int]:
    """Write the deliveries and picks of ``plans``; the subscriber ids whose rows are new.

    A (subscriber, date) that already has a row, perhaps recorded by another process meanwhile,
    is left alone (INSERT .. ON CONFLICT DO NOTHING). Nothing is read before the INSERT, so on
    SQLite the transaction starts by taking the write lock and never has to upgrade a stale
    read snapshot ("database is locked" at once, whatever the busy timeout).
    """
    if not plans:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        dict(
            subscriber_id=plan.subscriber_id,
            digest_date=plan.date,
            kind=plan.kind,
            state="pending",
            attempts=0,
            message_id=plan.message_id,
            overflow=[list(o) for o in plan.overflow],
            themes=list(plan.themes),
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
        for plan in plans
    ]
    statement = (
        insert(Delivery)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "digest_date"])
        .returning(Delivery.id, Delivery.subscriber_id)
    )
    delivery_ids = {sid: delivery_id for delivery_id, sid in session.execute(statement, rows)}
    items = [  # in _ITEM_COLUMNS order
        (
            delivery_ids[plan.subscriber_id],
            pick.paper.id,
            plan.subscriber_id,
            position,
            pick.score,
            pick.relevance,
            pick.trending,
            pick.topic,
            json.dumps(list(pick.reasons)),  # as the ORM's JSON type writes it
            pick.paper.version,
        )
        for plan in plans
        if plan.subscriber_id in delivery_ids
        for position, pick in enumerate(plan.picks)
    ]
    if items:
        _write_items(session, items, dialect)
    return set(delivery_ids)


_ITEM_COLUMNS = (
    "delivery_id",
    "paper_id",
    "subscriber_id",
    "position",
    "score",
    "relevance",
    "trending",
    "topic",
    "reasons",
    "version",
)


def _write_items(session: Session, items: Sequence[tuple[Any, ...]], dialect: str) -> None:
    """The picks straight to the driver, in the session's transaction.

    A large run records ten picks per subscriber; through SQLAlchemy's executemany the
    per-row parameter handling cost more than ranking them. PostgreSQL gets COPY, SQLite the
    driver's own executemany.
    """
    driver: Any = session.connection().connection.driver_connection
    columns = ", ".join(_ITEM_COLUMNS)
    if dialect == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {_ITEMS.name} ({columns}) FROM STDIN") as copy,
        ):
            for row in items:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in _ITEM_COLUMNS)
        driver.executemany(f"INSERT INTO {_ITEMS.name} ({columns}) VALUES ({marks})", items)
