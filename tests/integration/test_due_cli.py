"""`digest run --due --now ...` through the CLI, ticking as the scheduler does.

Each test ticks the command every few minutes across a whole local day (or week) and checks
that exactly the expected digests were recorded, each at the first tick at or after the
subscriber's local send hour: none skipped, none doubled, on daylight-saving days too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest import pipeline
from digest.cli import main
from digest.resources import samples_dir
from digest.service import Service

UTC = dt.UTC
INGESTED = dt.datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
Cli = Callable[..., str]


@pytest.fixture
def cli(
    service: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """Run `digest ARGS...` in this process against the test's database; returns stdout."""
    monkeypatch.setenv("DIGEST_DATABASE_URL", service.db.url)
    monkeypatch.setenv("DIGEST_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("DIGEST_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("DIGEST_BASE_URL", "http://digest.test")
    monkeypatch.delenv("DIGEST_SMTP_URL", raising=False)

    def run(*args: str) -> str:
        capsys.readouterr()
        main(list(args))
        return capsys.readouterr().out

    return run


def ticks(start: dt.datetime, end: dt.datetime, every: dt.timedelta) -> Iterator[dt.datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += every


def tick_through(cli: Cli, start: dt.datetime, end: dt.datetime, minutes: int = 5) -> None:
    for moment in ticks(start, end, dt.timedelta(minutes=minutes)):
        cli("run", "--due", "--now", moment.isoformat())


def recorded(cli: Cli) -> list[dict[str, object]]:
    return list(json.loads(cli("deliveries", "list", "--json")))


def add_reader(cli: Cli, email: str, zone: str, *extra: str) -> None:
    cli(
        "subscribers",
        "add",
        email,
        "--confirmed",
        "--topic",
        "LLM agents",
        "--timezone",
        zone,
        "--send-hour",
        "7",
        *extra,
    )


def test_berlin_spring_forward_day_gets_one_digest_at_local_seven(cli: Cli) -> None:
    # 29 March 2026 in Berlin: 02:00 CET jumps to 03:00 CEST; the local day has 23 hours.
    add_reader(cli, "berlin@example.org", "Europe/Berlin", "--quiet-days", "send")
    local_midnight = dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    tick_through(cli, local_midnight, dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    rows = recorded(cli)
    assert [(r["email"], r["date"], r["state"]) for r in rows] == [
        ("berlin@example.org", "2026-03-29", "sent")
    ]
    assert rows[0]["sent_at"] == "2026-03-29T05:00:00+00:00"  # 07:00 CEST


def test_berlin_fall_back_day_gets_one_digest_at_local_seven(cli: Cli) -> None:
    # 25 October 2026 in Berlin: 03:00 CEST falls back to 02:00 CET; the local day has 25 hours.
    add_reader(cli, "berlin@example.org", "Europe/Berlin", "--quiet-days", "send")
    local_midnight = dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    tick_through(cli, local_midnight, dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC))
    rows = recorded(cli)
    assert [(r["email"], r["date"], r["state"]) for r in rows] == [
        ("berlin@example.org", "2026-10-25", "sent")
    ]
    assert rows[0]["sent_at"] == "2026-10-25T06:00:00+00:00"  # 07:00 CET


def test_auckland_gets_tomorrows_digest_during_the_utc_evening(cli: Cli) -> None:
    # From Auckland's midnight on 11 June (12:00 UTC on 10 June) for one local day.
    add_reader(cli, "auckland@example.org", "Pacific/Auckland", "--quiet-days", "send")
    add_reader(cli, "berlin@example.org", "Europe/Berlin", "--quiet-days", "send")
    start = dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    tick_through(cli, start, start + dt.timedelta(days=1), minutes=15)
    rows = sorted(recorded(cli), key=lambda r: str(r["sent_at"]))
    assert [(r["email"], r["date"], r["sent_at"]) for r in rows] == [
        # Berlin's 10 June digest was already due (14:00 local) at the first tick: caught up.
        ("berlin@example.org", "2026-06-10", "2026-06-10T12:00:00+00:00"),
        ("auckland@example.org", "2026-06-11", "2026-06-10T19:00:00+00:00"),
        ("berlin@example.org", "2026-06-11", "2026-06-11T05:00:00+00:00"),
    ]


def test_weekly_reader_gets_one_digest_on_its_weekday_covering_the_whole_week(
    service: Service, cli: Cli
) -> None:
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=INGESTED)
    add_reader(
        cli, "weekly@example.org", "Europe/Berlin", "--frequency", "weekly", "--weekday", "mon"
    )
    add_reader(cli, "daily@example.org", "Europe/Berlin")
    # Monday 4 May 2026, local midnight, hourly for the week: the sample papers are from the
    # week before (27-29 April), outside a daily 4-day window but inside the weekly one.
    start = dt.datetime(2026, 5, 3, 22, 0, tzinfo=UTC)
    tick_through(cli, start, start + dt.timedelta(days=7), minutes=60)
    rows = recorded(cli)
    assert [(r["email"], r["date"], r["kind"]) for r in rows] == [
        ("weekly@example.org", "2026-05-04", "digest")
    ]
    assert rows[0]["sent_at"] == "2026-05-04T05:00:00+00:00"


def test_days_without_new_matching_papers_send_nothing(service: Service, cli: Cli) -> None:
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=INGESTED)
    add_reader(cli, "daily@example.org", "Europe/Berlin", "--per-digest", "100")
    # Thursday 30 April to Sunday 3 May: Thursday's digest takes every match; Friday and the
    # weekend (no arXiv announcements) have nothing new, so nothing is sent.
    start = dt.datetime(2026, 4, 29, 22, 0, tzinfo=UTC)
    tick_through(cli, start, start + dt.timedelta(days=4), minutes=60)
    rows = recorded(cli)
    assert [(r["date"], r["kind"]) for r in rows] == [("2026-04-30", "digest")]
