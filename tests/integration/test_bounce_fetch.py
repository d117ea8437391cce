"""`digest bounces fetch` end to end: real reports appended to a real dovecot over IMAP, fetched,
recorded (and acted on) once, moved to the done folder; run by the scheduler when configured."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from digest.cli import app
from digest.pipeline.bounce_fetch import fetch_bounce_mailbox
from digest.scheduler import bounce_fetch_job, build_scheduler
from digest.service import Service
from digest.store.schema import BounceReport
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.integration.bounce_support import BOUNCES, LATER, fixture_deployment, state_of

REPORTS = ("postfix-hard.eml", "arf-yahoo-abuse.eml", "out-of-office.eml", "garbage.eml")


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


@pytest.fixture
def fixture_service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from fixture_deployment(database_url, tmp_path)


def point_at(service: Service, port: int, **extra: object) -> tuple[str, str]:
    """Configure the bounce mailbox (folders of this test's own); returns (folder, done)."""
    tag = uuid.uuid4().hex[:8]
    folder, done = f"bounces-{tag}", f"processed-{tag}"
    service.settings = service.settings.model_copy(
        update={
            "bounce_imap_host": "127.0.0.1",
            "bounce_imap_port": port,
            "bounce_imap_user": USER,
            "bounce_imap_password": PASSWORD,
            "bounce_imap_folder": folder,
            "bounce_imap_done_folder": done,
            "bounce_imap_tls": False,
            **extra,
        }
    )
    return folder, done


def as_imap_keeps_it(name: str) -> bytes:
    """A fixture's bytes with CRLF line ends, as IMAP APPEND carries (and the server keeps) it."""
    return (BOUNCES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def stored_raws(service: Service) -> list[bytes]:
    with service.db.session() as session:
        return list(session.scalars(select(BounceReport.raw).order_by(BounceReport.id)))


def stored_sources(service: Service) -> list[str]:
    with service.db.session() as session:
        return list(session.scalars(select(BounceReport.source)))


def test_fetched_reports_are_recorded_acted_on_and_moved(
    dovecot: Dovecot, fixture_service: Service
) -> None:
    folder, done = point_at(fixture_service, dovecot.port)
    raws = [as_imap_keeps_it(name) for name in REPORTS]
    for raw in raws:
        dovecot.append(folder, raw)

    report = fetch_bounce_mailbox(fixture_service, now=LATER)

    outcomes = [[e.outcome for e in result.events] for result in report.results]
    assert outcomes == [["suspended"], ["unsubscribed"], ["ignored"], ["kept"]]
    assert state_of(fixture_service, "ada@example.net") == "suspended"
    assert state_of(fixture_service, "gail@yahoo.com") == "unsubscribed"
    assert state_of(fixture_service, "bea@example.com") == "confirmed"
    assert stored_sources(fixture_service) == ["imap"] * 4
    assert dovecot.messages(folder) == []
    moved = dovecot.messages(done)
    assert moved[:3] == raws[:3]  # the garbage one: dovecot stores its NUL bytes as 0x80
    assert moved == stored_raws(fixture_service)  # recorded byte for byte as fetched


def test_a_report_fetched_twice_counts_once(dovecot: Dovecot, fixture_service: Service) -> None:
    """As after a crash between recording and moving: the report is still in the folder."""
    folder, done = point_at(fixture_service, dovecot.port)
    raw = as_imap_keeps_it("postfix-delayed.eml")
    dovecot.append(folder, raw)
    first = fetch_bounce_mailbox(fixture_service, now=LATER)
    dovecot.append(folder, raw)

    again = fetch_bounce_mailbox(fixture_service, now=LATER)

    assert [r.duplicate for r in first.results + again.results] == [False, True]
    assert stored_sources(fixture_service) == ["imap"]
    assert dovecot.messages(done) == [raw, raw]


def test_the_scheduler_fetches_only_when_a_mailbox_is_configured(
    dovecot: Dovecot, fixture_service: Service
) -> None:
    def job_ids() -> set[str]:
        scheduler = build_scheduler(fixture_service)
        scheduler.start(paused=True)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        scheduler.shutdown(wait=False)
        if "bounces-fetch" in jobs:
            assert jobs["bounces-fetch"].trigger.interval.total_seconds() == 15 * 60
            assert jobs["bounces-fetch"].max_instances == 1
        return set(jobs)

    assert "bounces-fetch" not in job_ids()
    point_at(fixture_service, dovecot.port, bounce_imap_minutes=15)
    assert "bounces-fetch" in job_ids()


def test_the_scheduled_fetch_records_what_arrived(
    dovecot: Dovecot, fixture_service: Service
) -> None:
    folder, done = point_at(fixture_service, dovecot.port)
    dovecot.append(folder, (BOUNCES / "postfix-hard.eml").read_bytes())

    bounce_fetch_job(fixture_service, clock=lambda: LATER)

    assert state_of(fixture_service, "ada@example.net") == "suspended"
    assert len(dovecot.messages(done)) == 1


def test_an_unreachable_mailbox_is_one_warning_line_for_the_scheduler(
    fixture_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    point_at(fixture_service, port)

    with caplog.at_level(logging.WARNING, logger="digest.scheduler"):
        bounce_fetch_job(fixture_service, clock=lambda: LATER)

    [record] = [r for r in caplog.records if r.name == "digest.scheduler"]
    assert f"cannot reach the bounce mailbox at 127.0.0.1:{port}" in record.getMessage()
    assert record.exc_info is None


def cli_env(service: Service, port: int, folder: str, done: str) -> dict[str, str]:
    return {
        "DIGEST_DATABASE_URL": service.settings.database_url,
        "DIGEST_SECRET_KEY": "bounce-fixtures-secret",
        "DIGEST_FROM": "digest@example.org",
        "DIGEST_BOUNCE_IMAP_HOST": "127.0.0.1",
        "DIGEST_BOUNCE_IMAP_PORT": str(port),
        "DIGEST_BOUNCE_IMAP_USER": USER,
        "DIGEST_BOUNCE_IMAP_PASSWORD": PASSWORD,
        "DIGEST_BOUNCE_IMAP_FOLDER": folder,
        "DIGEST_BOUNCE_IMAP_DONE_FOLDER": done,
        "DIGEST_BOUNCE_IMAP_TLS": "0",
    }


def run_cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, ["bounces", "fetch", *args], env=env)


def test_the_command_prints_what_each_report_did(
    dovecot: Dovecot, fixture_service: Service
) -> None:
    folder, done = f"cli-{uuid.uuid4().hex[:8]}", f"cli-done-{uuid.uuid4().hex[:8]}"
    env = cli_env(fixture_service, dovecot.port, folder, done)
    dovecot.append(folder, as_imap_keeps_it("postfix-hard.eml"))
    dovecot.append(folder, as_imap_keeps_it("out-of-office.eml"))

    result = run_cli(env)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("imap uid 1: hard ada@example.net 5.1.1 -> suspended")
    assert lines[1].startswith("imap uid 2: auto_reply")
    assert lines[-1].endswith("; left for the next fetch 0")
    assert state_of(fixture_service, "ada@example.net") == "suspended"
    assert len(dovecot.messages(done)) == 2


def test_the_command_json(dovecot: Dovecot, fixture_service: Service) -> None:
    folder, done = f"cli-{uuid.uuid4().hex[:8]}", f"cli-done-{uuid.uuid4().hex[:8]}"
    dovecot.append(folder, as_imap_keeps_it("arf-yahoo-abuse.eml"))

    result = run_cli(cli_env(fixture_service, dovecot.port, folder, done), "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["failed"], data["left"]) == ([], 0)
    [message] = data["messages"]
    assert message["source"] == "imap uid 1" and not message["duplicate"]
    assert [(e["kind"], e["outcome"]) for e in message["events"]] == [("complaint", "unsubscribed")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DIGEST_BOUNCE_IMAP_HOST": ""}, "error: no bounce mailbox: set DIGEST_BOUNCE_IMAP_HOST"),
        ({"DIGEST_BOUNCE_IMAP_PASSWORD": "wrong"}, "refused the login of 'bounces'"),
        ({"DIGEST_BOUNCE_IMAP_TLS": "1"}, "error: cannot reach the bounce mailbox at 127.0.0.1"),
    ],
)
def test_the_command_fails_in_one_line(
    dovecot: Dovecot, fixture_service: Service, change: dict[str, str], message: str
) -> None:
    """The real command in a fresh interpreter, as an operator runs it: no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update({**cli_env(fixture_service, dovecot.port, "INBOX", "done"), **change})
    done = subprocess.run(
        [sys.executable, "-m", "digest", "bounces", "fetch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
