"""Two `digest run` processes on one database: every digest goes out exactly once."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from digest import pipeline
from digest.models import Topic
from digest.resources import samples_dir
from digest.service import Service
from digest.store import deliveries, subscribers
from digest.store.db import Database
from tests.conftest import make_settings, start_digest_run
from tests.smtp_sink import SmtpSink

DAY = dt.date(2026, 4, 30)
NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
READERS = 450  # more than two claim batches of 200, so the processes race for rows


@pytest.fixture
def sink() -> SmtpSink:
    with SmtpSink() as running:
        yield running  # type: ignore[misc]


def populated(database_url: str, tmp_path: Path, sink: SmtpSink) -> Service:
    Database(database_url).upgrade()
    service = Service.open(make_settings(database_url, tmp_path, smtp_url=sink.url))
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=NOW)
    with service.db.session() as session:
        for number in range(READERS):
            subscribers.upsert_subscriber(
                session,
                f"reader{number}@example.org",
                now=NOW,
                state="confirmed",
                profile_changes={"topics": (Topic("LLM agents"),)},
            )
    return service


def start_run(database_url: str, sink: SmtpSink, cwd: Path) -> subprocess.Popen[str]:
    return start_digest_run(
        database_url,
        sink.url + "?timeout=20",
        cwd,
        *("--date", DAY.isoformat(), "--no-ingest", "--now", NOW.isoformat()),
        DIGEST_SMTP_POOL_SIZE="2",
    )


def test_two_concurrent_runs_send_every_digest_exactly_once(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = populated(database_url, tmp_path, sink)
    runs = [start_run(database_url, sink, tmp_path) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "database is locked" not in output, output
    with service.db.session() as session:
        final = Counter(row.state for row, _ in deliveries.list_deliveries(session))
    assert final == {"sent": READERS}
    time.sleep(0.2)  # the sink records a message just after its final reply
    counts = Counter(rcpt for message in sink.messages for rcpt in message.rcpt_tos)
    assert len(counts) == READERS and set(counts.values()) == {1}
