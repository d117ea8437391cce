"""`digest db`: the database schema."""

from __future__ import annotations

import typer

from digest.cli.common import open_service

db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Database schema.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the version this code needs."""
    service = open_service(check_schema=False)
    before, after = service.db.upgrade()
    where = service.db.safe_url
    if before == after:
        typer.echo(f"database {where} already at revision {after}")
    else:
        typer.echo(f"database {where} upgraded from {before or 'empty'} to {after}")
