"""Every command's help is shown as written: no markup, no emoji codes, nothing eaten."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from digest.cli import app


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in getattr(group, "commands", {}).items():
        yield (*path, name), command
        yield from commands(command, (*path, name))


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_option_has_help_shown_verbatim() -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()
    checked = 0
    for path, command in commands(root):
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"}).output
        for param in command.params:
            if param.name == "help":
                continue
            text = getattr(param, "help", None)
            assert text, f"digest {' '.join(path)}: {param.name} has no help"
            assert squeezed(text) in squeezed(shown), (path, param.name, shown)
            checked += 1
    assert checked > 40


def test_a_search_query_shorthand_is_not_turned_into_an_emoji() -> None:
    shown = CliRunner().invoke(app, ["sources", "add", "--help"]).output
    assert "arxiv-api:cat:cs.CL" in squeezed(shown)
