"""Reports that come back later: stored once, matched by their VERP id, acted on by policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.deliver.bounce_classify import BounceEvent
from digest.deliver.bounces import record_report
from digest.service import Service
from digest.store import suppressions
from digest.store.schema import BounceEventRow, BounceReport
from tests.integration.bounce_support import (
    BOUNCES,
    LATER,
    fixture_deployment,
    ingest,
    state_of,
)


@pytest.fixture
def fixture_service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from fixture_deployment(database_url, tmp_path)


def count(service: Service, table: type[BounceReport] | type[BounceEventRow]) -> int:
    with service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_hard_bounce_suspends_its_subscriber_and_suppresses_the_address(
    fixture_service: Service,
) -> None:
    result = ingest(fixture_service, "postfix-hard.eml")
    assert [(e.outcome, e.delivery_id) for e in result.events] == [("suspended", 1)]
    assert state_of(fixture_service, "ada@example.net") == "suspended"
    with fixture_service.db.session() as session:
        assert "ada@example.net" in suppressions.suppression_list(session)


def test_every_mta_format_suspends_the_right_reader(fixture_service: Service) -> None:
    names = ("exim-hard.eml", "exim-classic-hard.eml", "gmail-hard.eml", "microsoft-hard.eml")
    for name in names:
        (event,) = ingest(fixture_service, name).events
        assert event.outcome == "suspended", name
    for address in ("cal@example.com", "dan@example.edu", "eve.nonexistent@gmail.com"):
        assert state_of(fixture_service, address) == "suspended"
    assert state_of(fixture_service, "frank@contoso.com") == "suspended"
    assert state_of(fixture_service, "ada@example.net") == "confirmed"


def test_the_same_report_twice_counts_once(fixture_service: Service) -> None:
    first = ingest(fixture_service, "postfix-delayed.eml")
    again = ingest(fixture_service, "postfix-delayed.eml", now=LATER + dt.timedelta(hours=1))
    assert not first.duplicate and again.duplicate and again.events == ()
    assert (count(fixture_service, BounceReport), count(fixture_service, BounceEventRow)) == (1, 1)


def test_a_report_is_kept_byte_for_byte(fixture_service: Service) -> None:
    raw = (BOUNCES / "garbage.eml").read_bytes()
    ingest(fixture_service, "garbage.eml")
    with fixture_service.db.session() as session:
        assert session.scalars(select(BounceReport.raw)).one() == raw


def test_a_forged_verp_id_changes_nothing(fixture_service: Service) -> None:
    (event,) = ingest(fixture_service, "forged-verp.eml").events
    assert (event.outcome, event.subscriber_id, event.delivery_id) == ("forged", None, None)
    assert state_of(fixture_service, "ada@example.net") == "confirmed"


def test_a_complaint_unsubscribes_and_suppresses_at_once(fixture_service: Service) -> None:
    for name, address in (
        ("arf-yahoo-abuse.eml", "gail@yahoo.com"),
        ("arf-microsoft-jmrp.eml", "hal@hotmail.com"),
    ):
        (event,) = ingest(fixture_service, name).events
        assert event.outcome == "unsubscribed"
        assert state_of(fixture_service, address) == "unsubscribed"
    with fixture_service.db.session() as session:
        reasons = set(session.scalars(select(suppressions.Suppression.reason)))
    assert reasons == {"complaint"}


def test_auto_replies_and_unknown_mail_change_nothing(fixture_service: Service) -> None:
    outcomes = [
        ingest(fixture_service, name).events[0].outcome
        for name in ("out-of-office.eml", "vacation-plain.eml", "human-reply.eml", "garbage.eml")
    ]
    assert outcomes == ["ignored", "ignored", "kept", "kept"]
    assert {state_of(fixture_service, a) for a in ("ada@example.net", "bea@example.com")} == {
        "confirmed"
    }
    assert count(fixture_service, BounceEventRow) == 4


def test_a_signed_webhook_may_match_by_address_a_raw_report_may_not(
    fixture_service: Service,
) -> None:
    event = BounceEvent("hard", "bea@example.com", (), "5.1.1", "550 no such user", "ses")
    with fixture_service.db.session() as session:
        unsigned = record_report(
            session,
            key="raw-1",
            source="ingest",
            raw=b"{}",
            message_id=None,
            events=[event],
            verp=fixture_service.verp,
            policy=fixture_service.bounce_policy,
            now=LATER,
        )
        signed = record_report(
            session,
            key="ses-1",
            source="ses",
            raw=b"{}",
            message_id=None,
            events=[event],
            verp=fixture_service.verp,
            policy=fixture_service.bounce_policy,
            now=LATER,
            trust_recipient=True,
        )
    assert [e.outcome for e in unsigned.events + signed.events] == ["unmatched", "suspended"]
    assert state_of(fixture_service, "bea@example.com") == "suspended"
