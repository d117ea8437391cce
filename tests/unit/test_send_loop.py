"""The send loop with a scripted fake transport on a real SQLite outbox: claim → send → record."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from digest import pipeline
from digest.deliver.policy import Backoff, BouncePolicy, RetryPolicy
from digest.deliver.send_loop import DeliveryParts, deliver_due
from digest.service import Service
from digest.store import deliveries, subscribers
from digest.store.db import Database
from digest.store.schema import Delivery
from tests.conftest import ingest_samples_and_readers, make_settings
from tests.unit.fake_transport import Crash, FakeTransport

NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 30)
READERS = ("ada@example.org", "bob@example.org", "cyd@example.org")
BACKOFF = Backoff(base=dt.timedelta(minutes=40))


@pytest.fixture(scope="module")
def planned_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the sample papers and one planned digest per reader (copied per test)."""
    folder = tmp_path_factory.mktemp("planned")
    url = f"sqlite:///{folder / 'digest.db'}"
    Database(url).upgrade()
    service = Service.open(make_settings(url, folder))
    ingest_samples_and_readers(service, READERS, now=NOW)
    assert pipeline.plan_digests(service, DAY, now=NOW).planned == len(READERS)
    service.close()
    return folder / "digest.db"


@pytest.fixture
def service(planned_database: Path, tmp_path: Path) -> Iterator[Service]:
    copy = tmp_path / "digest.db"
    with closing(sqlite3.connect(planned_database)) as source, closing(sqlite3.connect(copy)) as to:
        source.backup(to)  # with what is still in the write-ahead log
    service = Service.open(make_settings(f"sqlite:///{copy}", tmp_path))
    yield service
    service.close()


def parts_for(
    service: Service, transport: FakeTransport, *, max_attempts: int = 5, hard_limit: int = 1
) -> DeliveryParts:
    return DeliveryParts(
        db=service.db,
        composer=service.composer,
        open_transport=lambda: transport,
        retry=RetryPolicy(max_attempts=max_attempts, backoff=BACKOFF),
        bounces=BouncePolicy(hard_limit=hard_limit, soft_limit=2, soft_days=14),
    )


def rows(service: Service) -> dict[str, Delivery]:
    with service.db.session() as session:
        return {email: row for row, email in deliveries.list_deliveries(session)}


def subscriber_state(service: Service, email: str) -> str:
    with service.db.session() as session:
        return subscribers.get_row(session, email).state


def as_if_the_claiming_process_exited(service: Service) -> None:
    """Claims left in `sending` now name a process of this host that is gone, as after kill -9."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    with service.db.session() as session:
        for row in session.query(Delivery).filter(Delivery.state == "sending"):
            row.claimed_by = f"{socket.gethostname()}:{gone.pid}"
    assert gone.pid != os.getpid()


def test_each_claimed_row_is_sent_once_and_recorded_sent_with_the_reply(service: Service) -> None:
    fake = FakeTransport()
    report = deliver_due(parts_for(service, fake), now=NOW)
    assert (report.sent, report.deferred, report.failed, report.ambiguous) == (3, 0, 0, 0)
    assert Counter(fake.attempted) == Counter(READERS)
    recorded = rows(service)
    assert {e: (r.state, r.attempts, r.last_code) for e, r in recorded.items()} == dict.fromkeys(
        READERS, ("sent", 1, 250)
    )
    assert all(r.sent_at == NOW and r.claimed_by is None for r in recorded.values())
    assert {m.message_id for m in fake.delivered} == {r.message_id for r in recorded.values()}
    again = deliver_due(parts_for(service, fake), now=NOW + dt.timedelta(days=2))
    assert again.sent == 0 and len(fake.attempted) == 3


def test_a_4xx_defers_the_row_with_backoff_and_it_goes_out_once_due_again(
    service: Service,
) -> None:
    fake = FakeTransport({"bob@example.org": ["deferred"]})
    report = deliver_due(parts_for(service, fake), now=NOW)
    assert (report.sent, report.deferred) == (2, 1)
    bob = rows(service)["bob@example.org"]
    assert (bob.state, bob.attempts, bob.last_code) == ("deferred", 1, 450)
    assert bob.next_attempt_at is not None
    wait = bob.next_attempt_at.replace(tzinfo=dt.UTC) - NOW
    assert dt.timedelta(minutes=20) <= wait < dt.timedelta(minutes=40)  # upper half of 40 min

    early = deliver_due(parts_for(service, fake), now=NOW + wait - dt.timedelta(seconds=1))
    assert early.sent == 0 and fake.attempted.count("bob@example.org") == 1
    due = deliver_due(parts_for(service, fake), now=NOW + wait)
    assert due.sent == 1 and fake.attempted.count("bob@example.org") == 2
    bob = rows(service)["bob@example.org"]
    assert (bob.state, bob.attempts, bob.last_code) == ("sent", 2, 250)


def test_a_4xx_to_the_body_defers_the_row_and_counts_the_attempt_once(service: Service) -> None:
    fake = FakeTransport({"bob@example.org": ["deferred after data"]})
    report = deliver_due(parts_for(service, fake), now=NOW)
    assert (report.sent, report.deferred, report.ambiguous) == (2, 1, 0)
    bob = rows(service)["bob@example.org"]
    assert (bob.state, bob.attempts, bob.last_code) == ("deferred", 1, 451)


def test_the_last_allowed_temporary_failure_fails_the_row_as_a_soft_bounce(
    service: Service,
) -> None:
    fake = FakeTransport({"bob@example.org": ["deferred", "deferred"]})
    deliver_due(parts_for(service, fake, max_attempts=2), now=NOW)
    later = NOW + dt.timedelta(hours=2)
    report = deliver_due(parts_for(service, fake, max_attempts=2), now=later)
    assert (report.sent, report.deferred, report.failed, report.suspended) == (0, 0, 1, 0)
    bob = rows(service)["bob@example.org"]
    assert (bob.state, bob.attempts, bob.next_attempt_at) == ("failed", 2, None)
    with service.db.session() as session:
        assert subscribers.get_row(session, "bob@example.org").soft_bounces == 1
    assert fake.attempted.count("bob@example.org") == 2


def test_a_5xx_fails_at_once_and_suspends_the_subscriber_at_the_hard_limit(
    service: Service,
) -> None:
    fake = FakeTransport({"cyd@example.org": ["failed"]})
    report = deliver_due(parts_for(service, fake, hard_limit=1), now=NOW)
    assert (report.sent, report.failed, report.suspended) == (2, 1, 1)
    cyd = rows(service)["cyd@example.org"]
    assert (cyd.state, cyd.attempts, cyd.last_code, cyd.next_attempt_at) == ("failed", 1, 550, None)
    assert subscriber_state(service, "cyd@example.org") == "suspended"
    deliver_due(parts_for(service, fake), now=NOW + dt.timedelta(days=2))
    assert fake.attempted.count("cyd@example.org") == 1


def test_a_drop_after_data_began_is_ambiguous_and_never_resent(service: Service) -> None:
    fake = FakeTransport({"bob@example.org": ["dropped"]})
    report = deliver_due(parts_for(service, fake), now=NOW)
    assert (report.sent, report.ambiguous) == (2, 1)
    bob = rows(service)["bob@example.org"]
    assert (bob.state, bob.attempts, bob.data_started_at) == ("ambiguous", 1, NOW)
    for days in (1, 3):
        deliver_due(parts_for(service, fake), now=NOW + dt.timedelta(days=days))
    assert fake.attempted.count("bob@example.org") == 1


def test_a_crash_after_data_began_is_recorded_ambiguous_and_never_resent(
    service: Service,
) -> None:
    crashing = FakeTransport({"bob@example.org": ["crash"]})
    with pytest.raises(Crash):
        deliver_due(parts_for(service, crashing), now=NOW)
    assert rows(service)["bob@example.org"].data_started_at == NOW  # durable before the body
    as_if_the_claiming_process_exited(service)

    after = FakeTransport()
    report = deliver_due(parts_for(service, after), now=NOW + dt.timedelta(minutes=5))
    assert report.recovered.get("ambiguous") == 1 and report.ambiguous == 1
    assert rows(service)["bob@example.org"].state == "ambiguous"
    deliver_due(parts_for(service, after), now=NOW + dt.timedelta(days=2))
    assert "bob@example.org" not in after.attempted
    assert crashing.bodies.count("bob@example.org") == 1


def test_a_crash_before_data_leaves_the_row_to_be_sent_by_the_next_run(service: Service) -> None:
    crashing = FakeTransport({"bob@example.org": ["crash before data"]})
    with pytest.raises(Crash):
        deliver_due(parts_for(service, crashing), now=NOW)
    as_if_the_claiming_process_exited(service)
    after = FakeTransport()
    report = deliver_due(parts_for(service, after), now=NOW + dt.timedelta(minutes=5))
    assert report.recovered.get("pending", 0) >= 1
    assert after.attempted.count("bob@example.org") == 1
    assert rows(service)["bob@example.org"].state == "sent"


def test_a_row_that_is_sent_or_resolved_as_sent_is_never_claimed_again(service: Service) -> None:
    crashing = FakeTransport({"bob@example.org": ["crash"]})
    with pytest.raises(Crash):
        deliver_due(parts_for(service, crashing), now=NOW)
    as_if_the_claiming_process_exited(service)
    deliver_due(parts_for(service, FakeTransport()), now=NOW)  # bob ambiguous, the rest sent
    with service.db.session() as session:
        bob_id = subscribers.get_row(session, "bob@example.org").id
        resolved = deliveries.resolve_ambiguous(session, bob_id, DAY, outcome="sent", now=NOW)
        assert resolved.state == "sent" and resolved.next_attempt_at is not None  # was due
    assert {row.state for row in rows(service).values()} == {"sent"}

    later = FakeTransport()
    for days in (0, 1, 30):
        report = deliver_due(parts_for(service, later), now=NOW + dt.timedelta(days=days))
        assert report.sent == 0
        with service.db.session() as session:
            far = NOW + dt.timedelta(days=365)
            assert deliveries.claim_due(session, now=far, limit=100) == []
    assert later.attempted == []
