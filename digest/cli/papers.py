"""`digest papers`: the stored papers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from digest.cli.common import JsonOpt, open_service
from digest.cli.output import (
    echo_json,
    paper_json,
)
from digest.render.latex import readable
from digest.store import papers

papers_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Stored papers.")


@papers_app.command("list")
def papers_list(
    since: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only papers announced on or after this day."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stored papers, newest first."""
    service = open_service()
    with service.db.session() as session:
        rows = papers.list_papers(session, since.date() if since else None)
    if as_json:
        echo_json([paper_json(p) for p in rows])
        return
    for paper in rows:
        day = paper.published.date().isoformat() if paper.published else "?"
        typer.echo(f"{day}  {paper.arxiv_id or paper.doi or paper.key}  {readable(paper.title)}")
