"""Delivery through a real SMTP server on loopback: retries, bounces, ambiguity, kill -9."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from digest import pipeline
from digest.service import Service
from digest.store import deliveries, subscribers
from digest.store.db import Database
from digest.store.schema import Delivery
from tests.conftest import ingest_samples_and_readers, make_settings, start_digest_run
from tests.smtp_sink import SmtpSink

NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 30)
READERS = ("ada@example.org", "bob@example.org", "cyd@example.org")


@pytest.fixture
def sink() -> SmtpSink:
    with SmtpSink() as running:
        yield running  # type: ignore[misc]


def smtp_service(
    database_url: str,
    tmp_path: Path,
    sink: SmtpSink,
    readers: tuple[str, ...] = READERS,
    **extra: object,
) -> Service:
    Database(database_url).upgrade()
    service = Service.open(
        make_settings(database_url, tmp_path, smtp_url=sink.url + "?timeout=3", **extra)
    )
    ingest_samples_and_readers(service, readers, now=NOW)
    return service


def states(service: Service) -> dict[str, tuple[str, int, int | None]]:
    with service.db.session() as session:
        return {
            email: (row.state, row.attempts, row.last_code)
            for row, email in deliveries.list_deliveries(session)
        }


def deliveries_by_email(service: Service) -> dict[str, Delivery]:
    with service.db.session() as session:
        return {email: row for row, email in deliveries.list_deliveries(session)}


def wait_until_data_began(
    service: Service, process: subprocess.Popen[str], email: str, seconds: float = 60
) -> None:
    """Poll until ``email``'s delivery is marked DATA-began, or the process has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        row = deliveries_by_email(service).get(email)
        if row is not None and row.data_started_at is not None:
            return
        time.sleep(0.05)


def received(sink: SmtpSink) -> Counter[str]:
    return Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)


def test_4xx_is_deferred_then_retried_and_5xx_fails_and_suspends(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.reply(450, at="rcpt", recipient="bob@example.org", times=1)
    sink.reply(550, at="rcpt", recipient="cyd@example.org", text="5.1.1 No such user")
    report = pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert report.delivery is not None
    assert (report.delivery.sent, report.delivery.deferred, report.delivery.failed) == (1, 1, 1)
    assert states(service) == {
        "ada@example.org": ("sent", 1, 250),
        "bob@example.org": ("deferred", 1, 450),
        "cyd@example.org": ("failed", 1, 550),
    }
    with service.db.session() as session:
        assert subscribers.get_row(session, "cyd@example.org").state == "suspended"

    # Too early: the deferred row waits for its backoff.
    soon = pipeline.run_daily(service, DAY, now=NOW + dt.timedelta(minutes=1), ingest=False)
    assert soon.delivery is not None and soon.delivery.sent == 0
    later = pipeline.run_daily(service, DAY, now=NOW + dt.timedelta(hours=1), ingest=False)
    assert later.delivery is not None and later.delivery.sent == 1
    assert received(sink) == Counter({"ada@example.org": 1, "bob@example.org": 1})
    assert states(service)["bob@example.org"] == ("sent", 2, 250)


def test_a_drop_after_data_began_is_ambiguous_and_not_resent(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.drop_during_data(after_bytes=200, recipient="bob@example.org", times=1)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    pipeline.run_daily(service, DAY, now=NOW + dt.timedelta(days=1, hours=1), ingest=False)
    assert states(service)["bob@example.org"][0] == "ambiguous"
    assert received(sink)["bob@example.org"] == 0
    assert received(sink)["ada@example.org"] == 1


def test_kill_9_mid_send_then_rerun_sends_the_rest_exactly_once(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.delay(6, at="message", recipient="bob@example.org", times=1)
    process = start_digest_run(
        database_url,
        sink.url + "?timeout=20",
        tmp_path,
        *("--date", DAY.isoformat(), "--no-ingest"),
        DIGEST_SMTP_POOL_SIZE="1",
    )
    wait_until_data_began(service, process, "bob@example.org")
    assert process.poll() is None, process.stdout.read() if process.stdout else ""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    report = pipeline.run_daily(service, DAY, now=dt.datetime.now(dt.UTC), ingest=False)
    assert report.delivery is not None and report.delivery.recovered.get("ambiguous") == 1
    final = states(service)
    assert final["bob@example.org"][0] == "ambiguous"
    assert final["ada@example.org"][0] == final["cyd@example.org"][0] == "sent"
    time.sleep(0.2)
    counts = received(sink)
    assert counts["ada@example.org"] == 1 and counts["cyd@example.org"] == 1
    assert counts["bob@example.org"] <= 1
