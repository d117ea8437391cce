"""What every command shares: the date and --json options, the service, the clock."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from digest.config import load_settings
from digest.errors import DigestError
from digest.service import Service, utcnow

DateOpt = Annotated[
    dt.datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="Digest date (default: today, UTC)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def open_service(check_schema: bool = True) -> Service:
    return Service.open(load_settings(), check_schema=check_schema)


def today() -> dt.date:
    return utcnow().date()


def parse_now(value: str | None) -> dt.datetime:
    """--now: an ISO time; without a zone it is UTC."""
    if value is None:
        return utcnow()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DigestError(
            f"--now must be an ISO time like 2026-03-29T07:00:00+02:00: {value!r}"
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
