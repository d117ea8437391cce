"""The `digest` command: parse arguments, call the pipeline or the store, print. Nothing more.

The command names, flags and --json fields are a contract (README): keep them, add freely.
Each command group lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import typer
import typer.main

from digest.cli import bounce_fetch, db, deliveries, jobs, papers, server, sources
from digest.cli.bounces import bounces_app
from digest.cli.subscribers import subscribers_app
from digest.errors import DigestError
from digest.store.db import describe_database_error

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text verbatim: "arxiv-api:cat:cs.CL" is not an emoji code
    help="Daily email digest of the research papers that match each subscriber.",
)

app.add_typer(db.db_app, name="db")
app.add_typer(sources.sources_app, name="sources")
app.add_typer(papers.papers_app, name="papers")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(deliveries.deliveries_app, name="deliveries")
app.add_typer(bounces_app, name="bounces")
bounces_app.command("fetch")(bounce_fetch.bounces_fetch)
for command in (
    jobs.ingest,
    jobs.preview,
    jobs.run,
    jobs.demo,
    server.serve,
    server.scheduler,
    server.status,
):
    app.command()(command)


@functools.cache
def _command() -> Any:
    """The click command tree, built once per process: `typer.Typer.__call__` builds it again
    on every call (37 ms), which each in-process `run --due` tick of the tests paid."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user errors become one line on stderr and exit code 1."""
    try:
        return _command()(args=argv, standalone_mode=False)
    except DigestError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except SystemExit:
        raise
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors, in one line (not click's three)
        typer.echo(f"error: {_usage_message(exc)}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:  # the database refusing is the operator's to fix, not a bug
        line = describe_database_error(exc)
        if line is None:
            raise
        typer.echo(f"error: {line}", err=True)
        sys.exit(1)


def _usage_message(exc: typer.TyperException) -> str:
    """Typer's own click error (public only as TyperException): its message and where to look."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    context = getattr(exc, "ctx", None)
    command = getattr(context, "command_path", None)
    return f"{message} (see `{command} --help`)" if command else message
