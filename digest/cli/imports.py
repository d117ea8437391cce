"""`digest subscribers import FILE`: subscribers in bulk from a CSV or JSON Lines file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.cli.common import JsonOpt, open_service
from digest.cli.output import echo_json
from digest.errors import DigestError
from digest.pipeline.import_job import ImportReport, import_subscribers
from digest.service import utcnow

FileArg = Annotated[
    Path,
    typer.Argument(
        help="CSV with a header row (email, topics separated by ';', and optionally exclude,"
        " timezone, send_hour, frequency), or JSON Lines with the same keys."
    ),
]
ImportConfirmedOpt = Annotated[
    bool,
    typer.Option(
        "--confirmed",
        help="They already agreed: confirmed at once, recorded as consented by"
        " import. Without it each new address gets the confirm email (double opt-in).",
    ),
]


def import_command(
    file: FileArg, confirmed: ImportConfirmedOpt = False, as_json: JsonOpt = False
) -> None:
    """Add the file's subscribers: bad rows are reported by line and skipped, suppressed and
    existing addresses are left alone, so importing a file twice changes nothing."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DigestError(f"cannot read {file}: {exc.strerror}") from None
    service = open_service()
    try:
        report = import_subscribers(service, data, file.name, confirmed=confirmed, now=utcnow())
    finally:
        service.close()
    if as_json:
        echo_json(report.as_json())
        return
    _echo_report(report, confirmed=confirmed)


def _echo_report(report: ImportReport, *, confirmed: bool) -> None:
    for bad in report.bad:
        typer.echo(f"line {bad.line}: skipped: {bad.error}")
    rate = report.rows / report.seconds if report.seconds else 0.0
    typer.echo(
        f"{report.rows} rows: {report.added} added"
        f" ({'confirmed' if confirmed else 'unconfirmed'}), {report.existing} already subscribed,"
        f" {report.suppressed} suppressed, {len(report.bad)} bad"
        f" ({report.seconds:.2f} s, {rate:.0f} rows/s)"
    )
    if not confirmed:
        typer.echo(
            f"confirmation emails: {report.confirmations_sent} sent,"
            f" {report.confirmations_over_allowance} over the daily allowance,"
            f" {len(report.confirmations_failed)} failed"
        )
    for failure in report.confirmations_failed:
        typer.echo(f"not sent: {failure}")
