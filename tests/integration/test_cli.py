"""The CLI contract: command names, flags and --json fields that scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digest.resources import samples_dir
from tests.conftest import invoke_cli


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


cli = invoke_cli


def test_papers_list_json_has_the_contract_fields(env: dict[str, str]) -> None:
    files = [
        arg
        for path in sorted(samples_dir().glob("arxiv-rss-*.xml"))
        for arg in ("--file", str(path))
    ]
    out = cli(env, "ingest", *files)
    assert "new 3, updated 0, duplicates 0, failed 0" in out
    papers = json.loads(cli(env, "papers", "list", "--json"))
    assert len(papers) == 9
    for field in (
        "id",
        "title",
        "url",
        "authors",
        "categories",
        "version",
        "first_seen",
        "sources",
    ):
        assert field in papers[0]
    assert isinstance(papers[0]["authors"], list) and papers[0]["authors"]
    since = json.loads(cli(env, "papers", "list", "--since", "2026-04-28", "--json"))
    assert since == []


def test_subscribers_add_show_list_remove(env: dict[str, str]) -> None:
    cli(
        env,
        "subscribers",
        "add",
        "ada@example.org",
        "--topic",
        "reward models:2",
        "--topic",
        "DPO",
        "--exclude",
        "robotics",
        "--confirmed",
    )
    shown = json.loads(cli(env, "subscribers", "show", "ada@example.org", "--json"))
    assert shown["email"] == "ada@example.org"
    assert shown["state"] == "confirmed"
    assert shown["topics"] == ["reward models:2", "DPO"]
    assert shown["exclude"] == ["robotics"]
    assert shown["profile"]["topics"][0] == {"text": "reward models", "weight": 2.0}
    cli(env, "subscribers", "add", "ada@example.org", "--topic", "diffusion")
    listed = json.loads(cli(env, "subscribers", "list", "--json"))
    assert [(s["email"], s["topics"], s["state"]) for s in listed] == [
        ("ada@example.org", ["diffusion"], "confirmed")
    ]
    cli(env, "subscribers", "remove", "ada@example.org")
    assert json.loads(cli(env, "subscribers", "list", "--json")) == []


def test_invalid_address_is_refused_with_a_clear_message(env: dict[str, str]) -> None:
    from digest.cli import main

    with pytest.raises(SystemExit) as exit_info:
        import os

        old = dict(os.environ)
        os.environ.update(env)
        try:
            main(["subscribers", "add", "not-an-address", "--topic", "x"])
        finally:
            os.environ.clear()
            os.environ.update(old)
    assert exit_info.value.code == 1


def test_preview_json_lists_scored_picks_with_reasons(env: dict[str, str]) -> None:
    files = [arg for path in sorted(samples_dir().iterdir()) for arg in ("--file", str(path))]
    cli(env, "ingest", *files)
    cli(env, "subscribers", "add", "ada@example.org", "--topic", "LLM agents", "--confirmed")
    picks = json.loads(
        cli(env, "preview", "ada@example.org", "--date", "2026-04-30", "--limit", "5", "--json")
    )
    assert 0 < len(picks) <= 5
    for pick in picks:
        assert {"id", "title", "url", "score", "reasons"} <= set(pick)
        assert isinstance(pick["reasons"], list) and pick["reasons"]
    assert [p["score"] for p in picks] == sorted((p["score"] for p in picks), reverse=True)


def test_run_dry_run_sends_nothing_and_run_sends_once(env: dict[str, str], tmp_path: Path) -> None:
    files = [arg for path in sorted(samples_dir().iterdir()) for arg in ("--file", str(path))]
    cli(env, "ingest", *files)
    cli(env, "subscribers", "add", "ada@example.org", "--topic", "LLM agents", "--confirmed")
    assert "would send ada@example.org" in cli(env, "run", "--date", "2026-04-30", "--dry-run")
    assert not (tmp_path / "outbox").exists()
    assert "sent 1" in cli(env, "run", "--date", "2026-04-30")
    assert "sent 0" in cli(env, "run", "--date", "2026-04-30")
    rows = json.loads(cli(env, "deliveries", "list", "--json"))
    assert [(r["email"], r["date"], r["state"], r["attempts"]) for r in rows] == [
        ("ada@example.org", "2026-04-30", "sent", 1)
    ]
    assert "last_code" in rows[0]


def test_a_pause_is_set_kept_by_other_changes_and_ended(env: dict[str, str]) -> None:
    cli(env, "subscribers", "add", "ada@example.org", "--topic", "diffusion", "--confirmed")
    cli(env, "subscribers", "set", "ada@example.org", "--pause-until", "2026-12-24")

    def paused() -> object:
        return json.loads(cli(env, "subscribers", "show", "ada@example.org", "--json"))[
            "paused_until"
        ]

    assert paused() == "2026-12-24"
    cli(env, "subscribers", "set", "ada@example.org", "--topic", "agents")
    assert paused() == "2026-12-24"
    cli(env, "subscribers", "set", "ada@example.org", "--resume")
    assert paused() is None


def test_adding_without_confirmed_sends_the_confirm_link_within_the_daily_cap(
    env: dict[str, str],
) -> None:
    outbox = Path(env["DIGEST_OUTBOX_DIR"])
    said = [
        cli(env, "subscribers", "add", f"ada+{n}@example.org", "--topic", "agents")
        for n in range(4)
    ]
    assert all("confirmation email sent" in line for line in said[:3])
    assert "no confirmation email sent" in said[3]  # one mailbox, whatever the plus-tag
    messages = sorted(outbox.glob("*.eml"))
    assert len(messages) == 3
    assert "/confirm/" in messages[0].read_text()
    confirmed = cli(env, "subscribers", "add", "bob@example.org", "--topic", "x", "--confirmed")
    assert "confirmation email" not in confirmed
