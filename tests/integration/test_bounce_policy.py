"""Soft bounces reported later count in a window and decay; complaints count apart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.deliver.bounces import ingest_raw
from digest.service import Service
from digest.store import subscribers
from digest.store.schema import BounceReport
from tests.integration.bounce_support import (
    BOUNCES,
    SENT,
    add_sent_delivery,
    fixture_deployment,
    state_of,
)


@pytest.fixture
def fixture_service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from fixture_deployment(database_url, tmp_path)


def delayed_report(service: Service, delivery_id: int, queue_id: str) -> bytes:
    """Postfix's "still being retried" report for bea's delivery ``delivery_id``."""
    raw = (BOUNCES / "postfix-delayed.eml").read_bytes()
    raw = raw.replace(b"2-323vzumhfq", service.verp.signed_id(delivery_id).encode())
    return raw.replace(b"4G7R9k0ZLmz9sWc", queue_id.encode())  # its Message-Id: another report


def bea_digest(service: Service, days_later: int) -> int:
    with service.db.session() as session:
        row = subscribers.get_row(session, "bea@example.com")
        return add_sent_delivery(session, row.id, SENT.date() + dt.timedelta(days=days_later))


def soft(service: Service, delivery_id: int, days_later: int) -> str:
    now = SENT + dt.timedelta(days=days_later, hours=4)
    raw = delayed_report(service, delivery_id, f"Q{delivery_id}x{days_later}")
    result = ingest_raw(service.db, raw, verp=service.verp, policy=service.bounce_policy, now=now)
    return result.events[0].outcome


def test_three_soft_bounces_in_the_window_suspend(fixture_service: Service) -> None:
    first = 2  # bea's delivery in the fixture deployment
    outcomes = [soft(fixture_service, first, 0)]
    outcomes += [soft(fixture_service, bea_digest(fixture_service, d), d) for d in (1, 2)]
    assert outcomes == ["counted", "counted", "suspended"]
    assert state_of(fixture_service, "bea@example.com") == "suspended"


def test_good_deliveries_between_soft_bounces_decay_the_count(fixture_service: Service) -> None:
    outcomes = [soft(fixture_service, 2, 0)]
    bea_digest(fixture_service, 1)  # sent, and no report came back for it
    outcomes.append(soft(fixture_service, bea_digest(fixture_service, 2), 2))
    bea_digest(fixture_service, 3)
    outcomes.append(soft(fixture_service, bea_digest(fixture_service, 4), 4))
    assert outcomes == ["counted", "counted", "counted"]
    assert state_of(fixture_service, "bea@example.com") == "confirmed"


def test_soft_bounces_older_than_the_window_do_not_count(fixture_service: Service) -> None:
    outcomes = [
        soft(fixture_service, 2, 0),
        soft(fixture_service, bea_digest(fixture_service, 1), 1),
    ]
    outcomes.append(soft(fixture_service, bea_digest(fixture_service, 20), 20))
    assert outcomes == ["counted", "counted", "counted"]


def test_removing_a_subscriber_removes_the_reports_that_name_them(
    fixture_service: Service,
) -> None:
    raw = (BOUNCES / "postfix-hard.eml").read_bytes()
    policy, verp = fixture_service.bounce_policy, fixture_service.verp
    ingest_raw(fixture_service.db, raw, verp=verp, policy=policy, now=SENT + dt.timedelta(hours=1))
    with fixture_service.db.session() as session:
        subscribers.remove_subscriber(session, "ada@example.net", now=SENT + dt.timedelta(days=1))
    with fixture_service.db.session() as session:
        assert session.scalar(select(func.count()).select_from(BounceReport)) == 0
