"""Several delivery processes started before planning: each digest goes out exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from digest import pipeline
from digest.deliver import send_processes
from tests.conftest import start_digest_run
from tests.integration.test_delivery import (
    DAY,
    NOW,
    READERS,
    received,
    smtp_service,
    states,
    wait_until_data_began,
)
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


def test_killing_the_run_stops_its_senders_and_a_rerun_sends_nothing_twice(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    """kill -9 of `digest run` mid-send: its sending processes see their input end without
    "planning over", start nothing more, record what was in flight and exit; the rerun sends
    the rest, and nobody a second digest."""
    service = smtp_service(database_url, tmp_path, sink, READERS + EXTRA_READERS)
    sink.delay(0.4, at="message")  # every message takes a while: most are still due at the kill
    sink.delay(3, at="message", recipient="bob@example.org", times=1)
    process = start_digest_run(
        database_url,
        sink.url + "?timeout=20",
        tmp_path,
        *("--date", DAY.isoformat(), "--no-ingest"),
        DIGEST_SMTP_POOL_SIZE="2",
        DIGEST_DELIVERY_PROCESSES="2",
    )
    wait_until_data_began(service, process, "bob@example.org")
    assert process.poll() is None, "the run ended before bob's message began"
    senders = children_of(process.pid)  # one may be done already: the other holds the rest
    assert senders
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    deadline = time.monotonic() + 15  # bob's message in flight finishes, then they stop
    while any(alive(pid) for pid in senders) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in senders), "the senders outlived their run"
    sent_by_the_killed_run = sum(received(sink).values())
    assert sent_by_the_killed_run < len(READERS + EXTRA_READERS)
    assert received(sink).get("bob@example.org") == 1  # in flight at the kill: finished

    rerun = pipeline.run_daily(service, DAY, now=dt.datetime.now(dt.UTC), ingest=False)
    assert rerun.delivery is not None
    assert rerun.delivery.sent == len(READERS + EXTRA_READERS) - sent_by_the_killed_run
    time.sleep(0.2)
    counts = received(sink)
    assert set(counts) == set(READERS + EXTRA_READERS) and set(counts.values()) == {1}
    assert {state for state, _, _ in states(service).values()} == {"sent"}


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc, as ps does)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; nobody is left to reap it yet


@pytest.mark.parametrize(("lazy_from", "started"), [(100, False), (5, True)])
def test_a_replica_starts_sending_processes_for_its_own_backlog_only(
    database_url: str,
    tmp_path: Path,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    lazy_from: int,
    started: bool,
) -> None:
    """With planning shared (PostgreSQL) and the processes automatic, a run counts every
    subscriber but starts its senders only once it has planned ``LAZY_FROM`` itself; until
    then, and if it never gets there, it sends in-process after planning, each digest once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share the planning on PostgreSQL only")
    service = smtp_service(database_url, tmp_path, sink, READERS + EXTRA_READERS)
    monkeypatch.setattr(send_processes, "PARALLEL_FROM", 1)  # 15 recipients count as many
    monkeypatch.setattr(send_processes, "LAZY_FROM", lazy_from)
    launched: list[subprocess.Popen[bytes]] = []
    start = send_processes._start

    def launch(job: bytes) -> subprocess.Popen[bytes]:
        launched.append(start(job))
        return launched[-1]

    monkeypatch.setattr(send_processes, "_start", launch)
    report = pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert report.plan.planned == 15
    assert report.delivery is not None and report.delivery.sent == 15
    counts = received(sink)
    assert set(counts.values()) == {1} and len(counts) == 15
    assert bool(launched) == started
    assert all(worker.returncode == 0 for worker in launched)  # each reported and exited
