"""Ingest progress for the CLI: a rich progress bar in a terminal, plain log lines otherwise.

A cron job or a pipe gets one line per source on stderr (greppable, no control characters);
a person at a terminal gets a bar that says which source was last done.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from digest.ingest.report import IngestReport
    from digest.pipeline.ingest_job import OnReport


def _summary(report: IngestReport) -> str:
    if report.error:
        return f"{report.source}: failed: {report.error}"
    return f"{report.source}: new {report.new}, updated {report.updated}" + (
        f" ({report.note})" if report.note else ""
    )


def _log_line(report: IngestReport, done: int, total: int) -> None:
    typer.echo(f"ingest [{done}/{total}] {_summary(report)}", err=True)


@contextmanager
def ingest_progress(interactive: bool | None = None) -> Iterator[OnReport]:
    """Yield the per-source callback; a bar when stdout is a terminal, else log lines."""
    if interactive is None:
        interactive = sys.stdout.isatty()
    if not interactive:
        yield _log_line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}")
    ) as bar:
        task = bar.add_task("", total=None)

        def advance(report: IngestReport, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=report.source[:60])

        yield advance
