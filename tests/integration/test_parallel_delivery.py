"""Several delivery processes started before planning: each digest goes out exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest import pipeline
from digest.service import Service
from digest.store import deliveries
from digest.store.schema import Delivery
from tests.integration.test_delivery import DAY, NOW, READERS, received, smtp_service, states
from tests.smtp_sink import SmtpSink

EXTRA_READERS = tuple(f"reader{n}@example.org" for n in range(12))


@pytest.fixture
def sink() -> SmtpSink:
    with SmtpSink() as running:
        yield running  # type: ignore[misc]


def test_two_processes_send_every_digest_once_and_report_the_sum(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(
        database_url,
        tmp_path,
        sink,
        READERS + EXTRA_READERS,
        delivery_processes=2,
        smtp_pool_size=2,
    )
    sink.reply(450, at="rcpt", recipient="bob@example.org", times=1)
    report = pipeline.run_daily(service, DAY, now=NOW, ingest=False)

    assert report.plan.planned == 15
    assert report.delivery is not None
    assert (report.delivery.sent, report.delivery.deferred) == (14, 1)
    counts = received(sink)
    assert set(counts.values()) == {1} and len(counts) == 14 and "bob@example.org" not in counts
    final = states(service)
    assert final.pop("bob@example.org") == ("deferred", 1, 450)
    assert {state for state, _, _ in final.values()} == {"sent"}

    again = pipeline.run_daily(service, DAY, now=NOW + dt.timedelta(hours=2), ingest=False)
    assert again.delivery is not None and again.delivery.sent == 1  # bob's retry, nobody else
    assert received(sink)["bob@example.org"] == 1 and sum(received(sink).values()) == 15


def test_killing_the_run_leaves_its_senders_to_finish_and_a_rerun_sends_nothing_twice(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    """kill -9 of `digest run` mid-send: its sending processes see their input end, finish
    what is due and exit; the rerun sends nobody a second digest."""
    service = smtp_service(database_url, tmp_path, sink, READERS + EXTRA_READERS)
    sink.delay(3, at="message", recipient="bob@example.org", times=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=database_url,
        DIGEST_SMTP_URL=sink.url + "?timeout=20",
        DIGEST_SMTP_POOL_SIZE="2",
        DIGEST_DELIVERY_PROCESSES="2",
        DIGEST_SECRET_KEY="test-secret-key",
        DIGEST_BASE_URL="http://digest.test",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "run", "--date", DAY.isoformat(), "--no-ingest"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        bob = deliveries_by_email(service).get("bob@example.org")
        if bob is not None and bob.data_started_at is not None:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before bob's message began"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    deadline = time.monotonic() + 30  # the orphaned senders finish on their own
    while time.monotonic() < deadline:
        if not {"pending", "sending"} & {
            row.state for row in deliveries_by_email(service).values()
        }:
            break
        time.sleep(0.1)
    rerun = pipeline.run_daily(service, DAY, now=dt.datetime.now(dt.UTC), ingest=False)
    assert rerun.delivery is not None and rerun.delivery.sent == 0
    time.sleep(0.2)
    counts = received(sink)
    assert set(counts) == set(READERS + EXTRA_READERS) and set(counts.values()) == {1}
    assert {state for state, _, _ in states(service).values()} == {"sent"}


def deliveries_by_email(service: Service) -> dict[str, Delivery]:
    with service.db.session() as session:
        return {email: row for row, email in deliveries.list_deliveries(session)}
