"""Trending on the digest's clock, through the CLI over a dated Hugging Face feed with upvotes:
`preview --date` of a past day sees the day's attention, and `--trending 1` ranks by it."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import FIXTURES, invoke_cli

HF_DAY = FIXTURES / "hf-daily-papers/rss-hf-daily-papers-feedgen-2026-04-30.xml"
EMAIL = "trend@example.org"


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    invoke_cli(cli_env, "ingest", "--file", str(HF_DAY))
    invoke_cli(
        cli_env, "subscribers", "add", EMAIL, "--topic", "agents", "--trending", "1", "--confirmed"
    )
    return cli_env


def _preview(env: dict[str, str], *extra: str) -> list[dict[str, object]]:
    out = invoke_cli(
        env, "preview", EMAIL, "--date", "2026-04-30", "--limit", "40", "--json", *extra
    )
    return json.loads(out)  # type: ignore[no-any-return]


def _upvotes(pick: dict[str, object]) -> int:
    for reason in pick["reasons"]:  # type: ignore[attr-defined]
        found = re.search(r"(\d+) upvotes? on Hugging Face", reason)
        if found:
            return int(found.group(1))
    return 0


def test_a_past_day_has_trending_months_later(env: dict[str, str]) -> None:
    picks = _preview(env)  # the wall clock is long past 2026-04-30
    assert picks and all(p["trending"] > 0 for p in picks)  # type: ignore[operator]


def test_trending_one_ranks_popular_papers_above_unnoticed_ones(env: dict[str, str]) -> None:
    picks = _preview(env)
    upvotes = [_upvotes(p) for p in picks]
    assert max(upvotes) == 123 and upvotes[0] == 123
    popular = [i for i, n in enumerate(upvotes) if n >= 70]
    unnoticed = [i for i, n in enumerate(upvotes) if n <= 1]
    assert popular and unnoticed and max(popular) < min(unnoticed)
    assert [p["score"] for p in picks] == [p["trending"] for p in picks]


def test_now_earlier_than_the_day_end_is_the_clock(env: dict[str, str]) -> None:
    end_of_day = {p["id"]: p["trending"] for p in _preview(env)}
    at_noon = {p["id"]: p["trending"] for p in _preview(env, "--now", "2026-04-30T12:00:00Z")}
    assert at_noon.keys() == end_of_day.keys()
    assert all(at_noon[k] > end_of_day[k] for k in at_noon)  # type: ignore[operator]
