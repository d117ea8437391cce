"""A deployment whose VERP ids are those of tests/fixtures/bounces: readers 1-8, a sent digest
each (delivery ids 1-8), DIGEST_SECRET_KEY=bounce-fixtures-secret, From digest@example.org."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from digest.deliver.bounces import IngestResult, ingest_raw
from digest.models import Topic
from digest.service import Service
from digest.store import subscribers
from digest.store.db import Database
from digest.store.schema import Delivery, SubscriberRow
from tests.conftest import FIXTURES, make_settings

BOUNCES = FIXTURES / "bounces"
SENT = dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.UTC)
LATER = SENT + dt.timedelta(hours=2)
READERS = (
    "ada@example.net",
    "bea@example.com",
    "cal@example.com",
    "dan@example.edu",
    "eve.nonexistent@gmail.com",
    "frank@contoso.com",
    "gail@yahoo.com",
    "hal@hotmail.com",
)


def add_reader_with_sent_digest(service: Service, address: str, day: dt.date) -> int:
    """A confirmed reader with one digest sent on ``day``; returns the delivery id."""
    with service.db.session() as session:
        row, _ = subscribers.upsert_subscriber(
            session,
            address,
            now=SENT - dt.timedelta(days=30),
            state="confirmed",
            profile_changes={"topics": (Topic("LLM agents"),)},
        )
        return add_sent_delivery(session, row.id, day)


def add_sent_delivery(session: object, subscriber_id: int, day: dt.date) -> int:
    sent_at = dt.datetime.combine(day, SENT.time(), tzinfo=dt.UTC)
    delivery = Delivery(
        subscriber_id=subscriber_id,
        digest_date=day,
        state="sent",
        message_id=f"<digest.{subscriber_id}.{day.isoformat()}@example.org>",
        created_at=sent_at,
        updated_at=sent_at,
        sent_at=sent_at,
    )
    session.add(delivery)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return delivery.id


def fixture_deployment(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """Use as a fixture's body: ``yield from fixture_deployment(database_url, tmp_path)``."""
    Database(database_url).upgrade()
    settings = make_settings(
        database_url, tmp_path, secret_key="bounce-fixtures-secret", from_="digest@example.org"
    )
    service = Service.open(settings)
    for number, address in enumerate(READERS, start=1):
        assert add_reader_with_sent_digest(service, address, SENT.date()) == number
    yield service
    service.close()


def ingest(service: Service, name: str, now: dt.datetime = LATER) -> IngestResult:
    raw = (BOUNCES / name).read_bytes()
    return ingest_raw(service.db, raw, verp=service.verp, policy=service.bounce_policy, now=now)


def state_of(service: Service, address: str) -> str:
    with service.db.session() as session:
        return subscribers.get_row(session, address).state


def reader(service: Service, address: str) -> SubscriberRow:
    with service.db.session() as session:
        row = subscribers.get_row(session, address)
        session.expunge(row)
        return row
