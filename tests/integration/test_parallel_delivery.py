"""Several delivery processes started before planning: each digest goes out exactly once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digest import pipeline
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
