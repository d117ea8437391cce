"""Delivery under a busy or slow server, bounces over days, suppression, operator commands, and
two workers on one PostgreSQL outbox."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest import cli, pipeline
from digest.deliver import send_loop
from digest.models import Topic
from digest.store import subscribers
from tests.conftest import start_digest_run
from tests.integration.test_delivery import (
    DAY,
    NOW,
    READERS,
    received,
    smtp_service,
    states,
)
from tests.smtp_sink import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def test_421_defers_that_message_and_the_rest_still_go_out(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.reply(421, at="mail", nth=1, times=1)
    report = pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert report.delivery is not None
    assert (report.delivery.sent, report.delivery.deferred) == (2, 1)
    deferred = [email for email, (state, _, code) in states(service).items() if state == "deferred"]
    assert len(deferred) == 1 and states(service)[deferred[0]][2] == 421


def test_a_slow_server_within_the_timeout_gets_every_digest_once(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.delay(1.0, at="message", times=2)
    sink.delay(0.5, at="data", times=1)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert received(sink) == Counter(READERS)
    assert {state for state, _, _ in states(service).values()} == {"sent"}


def test_a_server_slower_than_the_timeout_leaves_the_message_ambiguous(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.delay(4.5, at="message", recipient="bob@example.org", times=1)  # timeout is 3 s
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert states(service)["bob@example.org"][0] == "ambiguous"
    pipeline.run_daily(service, DAY, now=NOW + dt.timedelta(days=1), ingest=False)
    assert states(service)["bob@example.org"][0] == "ambiguous"


def test_a_suppressed_address_is_not_sent_even_when_already_planned(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    pipeline.plan_digests(service, DAY, now=NOW)
    with service.db.session() as session:
        subscribers.suppress(session, "bob@example.org", reason="complained", now=NOW)
    report = send_loop.deliver_due(service.delivery, now=NOW)
    assert report.skipped == 1
    assert received(sink)["bob@example.org"] == 0
    assert states(service)["bob@example.org"][0] == "skipped"


def test_temporary_failures_on_several_days_suspend_the_subscriber(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink, smtp_max_attempts=2, bounce_soft_limit=2)
    sink.reply(450, at="rcpt", recipient="bob@example.org")
    for day in range(2):
        date, now = DAY + dt.timedelta(days=day), NOW + dt.timedelta(days=day)
        pipeline.run_daily(service, date, now=now, ingest=False)
        send_loop.deliver_due(service.delivery, now=now + dt.timedelta(hours=2))
        with service.db.session() as session:
            state = subscribers.get_row(session, "bob@example.org").state
        assert state == ("confirmed" if day == 0 else "suspended")
    assert received(sink)["bob@example.org"] == 0
    assert received(sink)["ada@example.org"] == 2


def test_backoff_spreads_five_attempts_over_about_a_day() -> None:
    import random

    from digest.deliver.outcomes import backoff_delay

    rng = random.Random(7)
    waits = [backoff_delay(attempt, rng) for attempt in range(1, 5)]
    assert waits == sorted(waits)
    assert dt.timedelta(hours=12) <= sum(waits, dt.timedelta()) <= dt.timedelta(hours=28)


def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, sink: SmtpSink) -> None:
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    monkeypatch.setenv("DIGEST_SMTP_URL", sink.url + "?timeout=3")
    monkeypatch.setenv("DIGEST_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("DIGEST_BASE_URL", "http://digest.test")


def test_deliveries_list_json_has_the_contract_fields(
    database_url: str, tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.reply(550, at="rcpt", recipient="cyd@example.org")
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    cli_env(monkeypatch, database_url, sink)
    runner = CliRunner()
    result = runner.invoke(
        cli.app, ["deliveries", "list", "--state", "failed", "--date", DAY.isoformat(), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["email"], r["date"], r["state"], r["attempts"], r["last_code"]) for r in rows] == [
        ("cyd@example.org", DAY.isoformat(), "failed", 1, 550)
    ]


def test_retry_sends_deferred_now_and_failed_only_when_named(
    database_url: str, tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = smtp_service(database_url, tmp_path, sink, bounce_hard_limit=5)
    sink.reply(450, at="rcpt", recipient="bob@example.org", times=1)
    sink.reply(550, at="rcpt", recipient="cyd@example.org", times=1)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    cli_env(monkeypatch, database_url, sink)
    runner = CliRunner()
    assert runner.invoke(cli.app, ["deliveries", "retry"]).exit_code == 0
    assert received(sink) == Counter({"ada@example.org": 1, "bob@example.org": 1})
    result = runner.invoke(cli.app, ["deliveries", "retry", "--email", "cyd@example.org"])
    assert result.exit_code == 0, result.output
    assert received(sink) == Counter(READERS)


def test_an_operator_resolves_ambiguous_rows_as_sent_or_for_retry(
    database_url: str, tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    sink.drop_during_data(after_bytes=200, recipient="bob@example.org", times=1)
    sink.drop_during_data(after_bytes=200, recipient="cyd@example.org", times=1)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    cli_env(monkeypatch, database_url, sink)
    runner = CliRunner()
    day = DAY.isoformat()
    for email, outcome in (("bob@example.org", "sent"), ("cyd@example.org", "retry")):
        result = runner.invoke(
            cli.app, ["deliveries", "resolve", "--email", email, "--date", day, "--as", outcome]
        )
        assert result.exit_code == 0, result.output
    assert {e: s for e, (s, _, _) in states(service).items()} == dict.fromkeys(READERS, "sent")
    assert received(sink) == Counter({"ada@example.org": 1, "cyd@example.org": 1})
    again = runner.invoke(
        cli.app,
        ["deliveries", "resolve", "--email", "ada@example.org", "--date", day, "--as", "retry"],
    )
    assert again.exit_code != 0 and "not ambiguous" in str(again.exception)


def test_two_workers_on_postgresql_send_every_digest_exactly_once(
    postgres_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(postgres_url, tmp_path, sink)
    with service.db.session() as session:
        for number in range(450):
            subscribers.upsert_subscriber(
                session,
                f"reader{number}@example.org",
                now=NOW,
                state="confirmed",
                profile_changes={"topics": (Topic("LLM agents"),)},
            )
    plan = pipeline.plan_digests(service, DAY, now=NOW)
    workers = [
        start_digest_run(
            postgres_url,
            sink.url + "?timeout=20",
            tmp_path,
            *("--date", DAY.isoformat(), "--no-ingest"),
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=180)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    counts = received(sink)
    assert len(counts) == plan.planned
    assert set(counts.values()) == {1}
    sent_by_worker = [int(re.search(r"delivery: sent (\d+)", out)[1]) for out in outputs]  # type: ignore[index]
    assert sum(sent_by_worker) == plan.planned
    assert min(sent_by_worker) > 0, outputs  # both really worked the same outbox
