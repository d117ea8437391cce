"""`digest subscribers import-bib EMAIL FILE`: a BibTeX library becomes seeds and title topics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.cli import app
from digest.errors import DigestError
from digest.ingest.bibtex import read_library
from tests.conftest import FIXTURES

runner = CliRunner()
LIBRARY = FIXTURES / "library.bib"


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


def test_library_yields_arxiv_ids_dois_and_fallback_titles() -> None:
    library = read_library(LIBRARY.read_text())
    assert library.seeds == ("2305.18290", "cs/9905014", "10.1103/physrevb.93.184503")
    assert library.titles == ("Reinforcement Learning: An Introduction",)
    assert library.entries == 5


def test_import_bib_adds_seeds_and_title_topics_to_the_profile(env: dict[str, str]) -> None:
    email = "reader@example.org"
    add = ["subscribers", "add", email, "--topic", "RLHF", "--seed", "2401.00001"]
    assert runner.invoke(app, add, env=env).exit_code == 0
    result = runner.invoke(app, ["subscribers", "import-bib", email, str(LIBRARY)], env=env)
    assert result.exit_code == 0, result.output
    assert "3 new seeds" in result.output
    shown = runner.invoke(app, ["subscribers", "show", email, "--json"], env=env)
    profile = json.loads(shown.output)["profile"]
    assert profile["seeds"] == [
        "2401.00001",
        "2305.18290",
        "cs/9905014",
        "10.1103/physrevb.93.184503",
    ]
    assert profile["topics"] == [
        {"text": "RLHF", "weight": 1.0},
        {"text": "Reinforcement Learning: An Introduction", "weight": 0.5},
    ]


def test_import_bib_of_a_non_bibtex_file_says_so(env: dict[str, str], tmp_path: Path) -> None:
    email = "reader@example.org"
    assert (
        runner.invoke(app, ["subscribers", "add", email, "--topic", "RLHF"], env=env).exit_code == 0
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes, no entries here\n")
    result = runner.invoke(app, ["subscribers", "import-bib", email, str(notes)], env=env)
    assert isinstance(result.exception, DigestError)
    assert "no BibTeX entries" in str(result.exception)
