"""`digest sources`: the configured feed sources."""

from __future__ import annotations

from typing import Annotated

import typer

from digest.cli.common import JsonOpt, open_service
from digest.cli.output import (
    echo_json,
)
from digest.service import utcnow
from digest.store import sources

sources_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Configured feed sources."
)


@sources_app.command("add")
def sources_add(
    url: Annotated[
        str,
        typer.Argument(
            help="URL, file path, or a shorthand: arxiv:cs.AI+cs.LG, "
            "'arxiv-api:cat:cs.CL AND abs:reward', biorxiv:2026-08-01/2026-08-05, "
            "medrxiv:7d, hf:daily."
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Short name (default: what you typed).")] = None,
    kind: Annotated[
        str,
        typer.Option(
            help="arxiv-rss, arxiv-api, biorxiv, journal, hf-daily, mentions or rss; "
            "auto guesses it from the URL."
        ),
    ] = "auto",
) -> None:
    """Add a feed source (http(s) URL, file:// URL, local path or shorthand)."""
    from digest.ingest.kinds import resolve_source

    spec = resolve_source(url, kind=kind, name=name)
    service = open_service()
    with service.db.session() as session:
        row, created = sources.add_source(
            session, spec.url, name=spec.name, kind=spec.kind, now=utcnow()
        )
        typer.echo(f"{'added' if created else 'updated'} source {row.name} ({row.kind}): {row.url}")


@sources_app.command("seed")
def sources_seed() -> None:
    """Add the sources DIGEST_SOURCES names, if none is configured yet (a fresh deployment)."""
    from digest.ingest.kinds import resolve_source

    service = open_service()
    with service.db.session() as session:
        if sources.list_sources(session, include_disabled=True):
            typer.echo("sources already configured: nothing added (see `digest sources list`)")
            return
        for text in service.settings.seed_sources:
            spec = resolve_source(text)
            row, _ = sources.add_source(
                session, spec.url, name=spec.name, kind=spec.kind, now=utcnow()
            )
            typer.echo(f"added source {row.name} ({row.kind}): {row.url}")


NameArg = Annotated[
    str, typer.Argument(help="The source's name, as `digest sources list` shows it.")
]


@sources_app.command("remove")
def sources_remove(name: NameArg) -> None:
    """Forget a source (the papers it brought stay, and so does their trending history)."""
    service = open_service()
    with service.db.session() as session:
        row = sources.remove_source(session, name)
        typer.echo(f"removed source {row.name}: {row.url}")


@sources_app.command("disable")
def sources_disable(name: NameArg) -> None:
    """Stop fetching a source but keep it, with its health record, for `enable`."""
    _set_enabled(name, False)


@sources_app.command("enable")
def sources_enable(name: NameArg) -> None:
    """Fetch a disabled source again from the next ingest."""
    _set_enabled(name, True)


def _set_enabled(name: str, enabled: bool) -> None:
    service = open_service()
    with service.db.session() as session:
        row = sources.get_source(session, name)
        row.enabled = enabled
        typer.echo(f"{'enabled' if enabled else 'disabled'} source {row.name}: {row.url}")


@sources_app.command("list")
def sources_list(as_json: JsonOpt = False) -> None:
    """Configured sources and their health (a source failing for days is flagged FAILING)."""
    service = open_service()
    now = utcnow()
    with service.db.session() as session:
        rows = sources.list_sources(session, include_disabled=True)
        data = [sources.source_json(row, now) for row in rows]
    if as_json:
        echo_json(data)
        return
    if not data:
        typer.echo("no sources configured: add one with `digest sources add URL`")
    for item in data:
        flag = ("DISABLED " if not item["enabled"] else "") + (
            "FAILING " if item["failing"] else ""
        )
        typer.echo(
            f"{flag}{item['name']} [{item['kind']}]  {item['url']}  "
            f"last attempt: {item['last_attempt_at'] or 'never'}  "
            f"last success: {item['last_success_at'] or 'never'}  "
            f"items: {item['items_last_seen']}  failures: {item['consecutive_failures']}"
            + (f"  error: {item['last_error']}" if item["last_error"] else "")
        )
    for item in data:
        if item["alarm"]:
            typer.echo(f"WARNING: source {item['name']} is {item['alarm']}", err=True)
