"""`digest subscribers import`: CSV and JSON Lines, bad rows by line, suppressed addresses,
double opt-in through the outbox, and a rerun that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from digest.cli import app
from tests.conftest import invoke_cli

CSV = """email,topics,exclude,timezone,send_hour,frequency
ada@example.org,reward models; DPO,robotics,Europe/Berlin,8,daily
not-an-address,LLM agents,,,,
bob@example.org,,,,,
cy@example.org,diffusion models,,Mars/Olympus,,
"Dee@Example.org","retrieval; ""dense"" retrieval",,,25,
eve@example.org,LLM agents,,UTC,6,weekly
ADA@example.org,something else,,,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def import_json(env: dict[str, str], path: Path, *flags: str) -> dict[str, object]:
    return json.loads(invoke_cli(env, "subscribers", "import", str(path), *flags, "--json"))


def subscriber(env: dict[str, str], email: str) -> dict[str, object]:
    return json.loads(invoke_cli(env, "subscribers", "show", email, "--json"))


def confirm_emails(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox").glob("*.eml"))


def test_bad_rows_are_reported_by_line_and_the_good_ones_imported(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    report = import_json(cli_env, write(tmp_path, "people.csv", CSV))
    bad = {row["line"]: row["error"] for row in report["bad"]}  # type: ignore[attr-defined]
    assert sorted(bad) == [3, 4, 5, 6, 8]
    assert "invalid email address" in bad[3]
    assert "no topics" in bad[4]
    assert "unknown time zone 'Mars/Olympus'" in bad[5]
    assert "send_hour" in bad[6]
    assert "already on line 2" in bad[8]
    assert (report["rows"], report["added"], report["existing"]) == (7, 2, 0)
    ada = subscriber(cli_env, "ada@example.org")
    assert ada["state"] == "unconfirmed" and ada["consent_source"] is None
    assert ada["topics"] == ["reward models", "DPO"] and ada["exclude"] == ["robotics"]
    assert (ada["timezone"], ada["send_hour"], ada["frequency"]) == ("Europe/Berlin", 8, "daily")
    assert subscriber(cli_env, "eve@example.org")["frequency"] == "weekly"


def test_each_new_address_gets_one_confirmation_and_a_rerun_changes_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path, "people.csv", CSV)
    first = import_json(cli_env, path)
    emails = confirm_emails(tmp_path)
    assert first["confirmations_sent"] == 2 and len(emails) == 2
    recipients = sorted(
        next(line for line in p.read_text().splitlines() if line.startswith("To:")) for p in emails
    )
    assert recipients == ["To: ada@example.org", "To: eve@example.org"]
    assert all("/confirm/" in p.read_text() for p in emails)
    before = json.loads(invoke_cli(cli_env, "subscribers", "list", "--json"))

    again = import_json(cli_env, path)
    assert (again["added"], again["existing"], again["confirmations_sent"]) == (0, 2, 0)
    assert confirm_emails(tmp_path) == emails
    assert json.loads(invoke_cli(cli_env, "subscribers", "list", "--json")) == before


def test_confirmed_import_records_consent_by_import_and_sends_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path, "people.csv", "email,topics\nada@example.org,LLM agents\n")
    report = import_json(cli_env, path, "--confirmed")
    assert report["added"] == 1 and report["confirmations_sent"] == 0
    ada = subscriber(cli_env, "ada@example.org")
    assert ada["state"] == "confirmed" and ada["consent_source"] == "import"
    assert ada["confirmed_at"] is not None
    assert confirm_emails(tmp_path) == []


def test_json_lines_by_extension_and_by_sniffing(cli_env: dict[str, str], tmp_path: Path) -> None:
    lines = (
        '{"email": "ada@example.org", "topics": ["reward models", "DPO"], "send_hour": 9}\n'
        "\n"
        "{not json\n"
        '{"email": "bob@example.org", "topics": "LLM agents; retrieval", "exclude": ["robotics"]}\n'
        '["a list"]\n'
    )
    for name in ("people.jsonl", "people.txt"):
        report = import_json(cli_env, write(tmp_path, name, lines), "--confirmed")
        assert [bad["line"] for bad in report["bad"]] == [3, 5]  # type: ignore[attr-defined]
    assert subscriber(cli_env, "ada@example.org")["send_hour"] == 9
    bob = subscriber(cli_env, "bob@example.org")
    assert bob["topics"] == ["LLM agents", "retrieval"] and bob["exclude"] == ["robotics"]


def test_a_suppressed_address_is_never_imported_again(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    invoke_cli(cli_env, "subscribers", "add", "gone@example.org", "--topic", "x", "--confirmed")
    invoke_cli(cli_env, "subscribers", "remove", "gone@example.org")
    path = write(tmp_path, "people.csv", "email,topics\nGone@example.org,LLM agents\n")
    report = import_json(cli_env, path, "--confirmed")
    assert (report["added"], report["suppressed"]) == (0, 1)
    assert json.loads(invoke_cli(cli_env, "subscribers", "list", "--json")) == []


def test_the_text_report_names_lines_and_counts(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = invoke_cli(cli_env, "subscribers", "import", str(write(tmp_path, "p.csv", CSV)))
    assert "line 3: skipped: invalid email address 'not-an-address'" in out
    assert "7 rows: 2 added (unconfirmed), 0 already subscribed, 0 suppressed, 5 bad" in out
    assert "confirmation emails: 2 sent" in out


def test_a_file_without_the_required_columns_is_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path, "people.csv", "address,interests\nada@example.org,x\n")
    result = CliRunner().invoke(app, ["subscribers", "import", str(path)], env=cli_env)
    assert result.exit_code != 0
    assert "header row must name email and topics" in str(result.exception or result.output)
