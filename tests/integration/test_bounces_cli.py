"""`digest bounces ingest`: files, an mbox, stdin; what it did per message; bad input."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.cli import app
from digest.service import Service
from tests.integration.bounce_support import BOUNCES, fixture_deployment, state_of


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[tuple[Service, dict[str, str]]]:
    for service in fixture_deployment(database_url, tmp_path):
        env = {
            "DIGEST_DATABASE_URL": database_url,
            "DIGEST_SECRET_KEY": "bounce-fixtures-secret",
            "DIGEST_FROM": "digest@example.org",
            "DIGEST_OUTBOX_DIR": str(tmp_path / "outbox"),
        }
        yield service, env


def run(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["bounces", "ingest", *args], env=env, input=stdin)
    return result.exit_code, result.output


def test_ingest_says_what_it_did_per_message(deployment: tuple[Service, dict[str, str]]) -> None:
    service, env = deployment
    names = ["postfix-hard.eml", "arf-yahoo-abuse.eml", "out-of-office.eml", "garbage.eml"]
    code, output = run(env, *(str(BOUNCES / n) for n in names))
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].endswith(
        "postfix-hard.eml: hard ada@example.net 5.1.1 -> suspended (delivery 1)"
    )
    assert lines[1].endswith(
        "arf-yahoo-abuse.eml: complaint gail@yahoo.com -> unsubscribed (delivery 7)"
    )
    assert lines[2].endswith("out-of-office.eml: auto_reply ada@example.net -> ignored")
    assert lines[3].endswith("garbage.eml: unknown (no recipient) -> kept")
    assert lines[4] == (
        "4 messages: hard 1, soft 0, complaint 1, auto_reply 1, unknown 1; already ingested 0"
    )
    assert state_of(service, "gail@yahoo.com") == "unsubscribed"


def test_ingest_twice_changes_nothing_the_second_time(
    deployment: tuple[Service, dict[str, str]],
) -> None:
    _, env = deployment
    path = str(BOUNCES / "postfix-delayed.eml")
    first = json.loads(run(env, "--json", path)[1])
    second = json.loads(run(env, "--json", path)[1])
    assert first[0]["duplicate"] is False and first[0]["events"][0]["outcome"] == "counted"
    assert second == [{**first[0], "duplicate": True, "events": []}]


def test_an_mbox_on_stdin_is_read_message_by_message(
    deployment: tuple[Service, dict[str, str]], tmp_path: Path
) -> None:
    _, env = deployment
    box = mailbox.mbox(tmp_path / "reports.mbox")
    for name in ("gmail-hard.eml", "microsoft-hard.eml", "forged-verp.eml"):
        box.add(mailbox.mboxMessage((BOUNCES / name).read_bytes()))
    box.close()
    code, output = run(env, "--json", "-", stdin=(tmp_path / "reports.mbox").read_bytes())
    assert code == 0, output
    reports = json.loads(output)
    assert [r["source"] for r in reports] == ["stdin#1", "stdin#2", "stdin#3"]
    assert [r["events"][0]["outcome"] for r in reports] == ["suspended", "suspended", "forged"]
    assert reports[2]["events"][0]["subscriber_id"] is None


def test_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from digest.cli import main

    (tmp_path / "empty.eml").write_bytes(b"\n")
    for path, expected in (
        (tmp_path / "missing.eml", f"error: cannot read {tmp_path / 'missing.eml'}: "),
        (tmp_path / "empty.eml", f"error: {tmp_path / 'empty.eml'} is empty: no message to read"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(["bounces", "ingest", str(path)])
        err = capsys.readouterr().err
        assert stopped.value.code == 1
        assert err.startswith(expected) and err.count("\n") == 1, err
