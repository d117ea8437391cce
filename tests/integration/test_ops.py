"""Operating the service: runs recorded, health, status, metrics, structured logs."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

from sqlalchemy import update

from digest import pipeline
from digest.ops.health import health_report
from digest.ops.logging_setup import configure_logging, run_context
from digest.ops.metrics import Metrics, render_metrics
from digest.ops.status import status_lines, status_report
from digest.resources import samples_dir
from digest.service import Service
from digest.store import runs, subscribers
from digest.store.schema import Delivery

SEVEN_IN_BERLIN = dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.UTC)


def add_reader(service: Service, email: str = "reader@example.org") -> None:
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session,
            email,
            now=SEVEN_IN_BERLIN,
            state="confirmed",
            profile_changes={"quiet_days": "send"},
            schedule={"timezone": "Europe/Berlin", "send_hour": 7},
        )


def test_a_due_run_is_recorded_with_what_it_did(service: Service) -> None:
    add_reader(service)
    pipeline.run_due(service, now=SEVEN_IN_BERLIN)
    with service.db.session() as session:
        (run,) = runs.recent_runs(session)
    assert (run.kind, run.status) == ("due", "ok")
    assert run.summary["recorded"] == 1 and run.summary["sent"] == 1
    assert run.started_at == SEVEN_IN_BERLIN and run.finished_at is not None


def test_a_dry_run_is_not_recorded(service: Service) -> None:
    add_reader(service)
    pipeline.run_due(service, now=SEVEN_IN_BERLIN, dry_run=True)
    with service.db.session() as session:
        assert runs.recent_runs(session) == []


def test_health_reports_the_age_of_the_last_tick_and_send(service: Service) -> None:
    assert health_report(service.db, now=SEVEN_IN_BERLIN).last_send_age_seconds is None
    add_reader(service)
    pipeline.run_due(service, now=SEVEN_IN_BERLIN)
    health = health_report(service.db, now=SEVEN_IN_BERLIN + dt.timedelta(minutes=10))
    assert health.ok and health.schema == "current"
    assert health.last_send_age_seconds is not None
    assert 590 <= health.last_send_age_seconds <= 600
    assert health.last_due_tick_age_seconds is not None
    assert health.last_ingest_age_seconds is None


def test_status_counts_who_is_due_and_lists_deliveries_needing_a_look(service: Service) -> None:
    add_reader(service, "a@example.org")
    add_reader(service, "b@example.org")
    report = status_report(service.db, now=SEVEN_IN_BERLIN)
    assert report.due_now == 2
    pipeline.run_due(service, now=SEVEN_IN_BERLIN)
    with service.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id == 1).values(state="ambiguous"))
    report = status_report(service.db, now=SEVEN_IN_BERLIN + dt.timedelta(minutes=5))
    assert report.due_now == 0
    assert [(d["state"], d["subscriber_id"]) for d in report.stuck] == [("ambiguous", 1)]
    assert report.next_sends == [(dt.datetime(2026, 6, 11, 5, 0, tzinfo=dt.UTC), 2)]
    text = "\n".join(status_lines(report))
    assert "ambiguous" in text and "@example.org" not in text
    assert json.loads(json.dumps(report.as_json()))["outbox"] == {"ambiguous": 1, "sent": 1}


def test_metrics_show_counters_and_the_shared_outbox(service: Service) -> None:
    add_reader(service)
    pipeline.run_due(service, now=SEVEN_IN_BERLIN)
    metrics = Metrics()
    metrics.deliveries.labels("sent").inc()
    text = render_metrics(service.db, metrics).decode()
    assert 'digest_deliveries_total{outcome="sent"} 1.0' in text
    assert 'digest_outbox_deliveries{state="sent"} 1.0' in text
    assert 'digest_last_success_timestamp_seconds{kind="due"}' in text


def test_logs_are_one_json_object_per_line_with_the_run_id() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(stream)
    try:
        with run_context("42"):
            logging.getLogger("digest.test").info(
                "digest recorded", extra={"subscriber_id": 7, "source": "arxiv"}
            )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "digest recorded"
    assert (record["run_id"], record["subscriber_id"], record["source"]) == ("42", 7, "arxiv")


def test_runs_from_the_cli_are_recorded_like_scheduled_ones(cli_env: dict[str, str]) -> None:
    """A cron-driven deployment (`digest ingest`, `digest run --date`) shows in status."""
    from digest.config import Settings
    from digest.service import Service
    from digest.store import runs
    from tests.conftest import invoke_cli

    files = [arg for path in sorted(samples_dir().iterdir()) for arg in ("--file", str(path))]
    invoke_cli(cli_env, "ingest", *files)
    invoke_cli(cli_env, "subscribers", "add", "ada@example.org", "--topic", "agents", "--confirmed")
    invoke_cli(cli_env, "run", "--date", "2026-04-30", "--no-ingest")
    invoke_cli(cli_env, "run", "--date", "2026-04-30", "--dry-run")  # a rehearsal: not a run
    service = Service.open(Settings(database_url=cli_env["DIGEST_DATABASE_URL"]))
    try:
        with service.db.session() as session:
            recorded = [(r.kind, r.status) for r in reversed(runs.recent_runs(session))]
        health = health_report(service.db, now=dt.datetime.now(dt.UTC))
    finally:
        service.close()
    assert recorded == [("ingest", "ok"), ("daily", "ok")]
    assert health.last_ingest_age_seconds is not None
    assert health.last_due_tick_age_seconds is not None
    status = json.loads(invoke_cli(cli_env, "status", "--json"))
    assert [r["kind"] for r in status["runs"]][:2] == ["daily", "ingest"]
