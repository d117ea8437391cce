"""The reader's library is theirs: seed papers (BibTeX, --seed) are never recommended back,
and the reasons name seeds by title, never by arXiv id."""

from __future__ import annotations

import json
import re

import pytest

from digest.resources import samples_dir
from tests.conftest import FIXTURES, invoke_cli

LIBRARY = FIXTURES / "library-agents.bib"
SEEDS = {"2604.25917", "2604.26904"}  # in the library and among the day's candidates
EMAIL = "reader@example.org"


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    files = [arg for path in sorted(samples_dir().iterdir()) for arg in ("--file", str(path))]
    invoke_cli(cli_env, "ingest", *files)
    return cli_env


def _preview(env: dict[str, str]) -> list[dict[str, object]]:
    out = invoke_cli(env, "preview", EMAIL, "--date", "2026-04-30", "--limit", "40", "--json")
    return json.loads(out)  # type: ignore[no-any-return]


def test_papers_of_the_bibtex_library_are_not_recommended_back(env: dict[str, str]) -> None:
    invoke_cli(env, "subscribers", "add", EMAIL, "--topic", "agents", "--confirmed")
    before = {p["id"] for p in _preview(env)}
    assert before >= SEEDS  # on topic: without the library they are picked
    invoke_cli(env, "subscribers", "import-bib", EMAIL, str(LIBRARY))
    after = _preview(env)
    assert after and not SEEDS & {p["id"] for p in after}


def test_a_seed_given_with_seed_is_not_recommended_back(env: dict[str, str]) -> None:
    invoke_cli(
        env,
        "subscribers",
        "add",
        EMAIL,
        "--topic",
        "agents",
        "--seed",
        "2604.25917v1",
        "--confirmed",
    )
    assert "2604.25917" not in {p["id"] for p in _preview(env)}


def test_reasons_name_seeds_by_title_not_by_arxiv_id(env: dict[str, str]) -> None:
    invoke_cli(env, "subscribers", "add", EMAIL, "--topic", "agents", "--confirmed")
    invoke_cli(env, "subscribers", "import-bib", EMAIL, str(LIBRARY))
    reasons = [r for p in _preview(env) for r in p["reasons"]]  # type: ignore[attr-defined]
    like = [r for r in reasons if r.startswith("like your seed")]
    assert like
    titles = ("“Recursive Multi-Agent Systems”", "“ClawGym: A Scalable Framework")
    assert all(r.removeprefix("like your seed ").startswith(titles) for r in like), like
    assert not any(re.search(r"\d{4}\.\d{4,5}", r) for r in reasons)
