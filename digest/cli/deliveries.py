"""`digest deliveries`: the outbox, one row per digest sent."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from digest.cli.common import DateOpt, JsonOpt, open_service
from digest.cli.output import (
    delivery_json,
    echo_json,
    print_delivery_report,
)
from digest.deliver import send_loop as deliver
from digest.errors import DigestError
from digest.service import utcnow
from digest.store import bounces, deliveries, subscribers

deliveries_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="The outbox: one row per digest sent."
)


@deliveries_app.command("list")
def deliveries_list(
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    date: DateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delivery rows with their state, attempts and last SMTP reply."""
    service = open_service()
    with service.db.session() as session:
        listed = deliveries.list_deliveries(
            session, state=state, date=date.date() if date else None
        )
        flags = bounces.delivery_flags(session, [row.id for row, _ in listed])
        rows = [
            delivery_json(row, email, flags.get(row.id, (None, False))) for row, email in listed
        ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['date']}  {row['state']:9}  attempts={row['attempts']}  "
            f"code={row['last_code'] or '-'}  {row['email']}  {row['last_message'] or ''}"
        )


@deliveries_app.command("retry")
def deliveries_retry(
    email: Annotated[
        str | None, typer.Option(help="Also retry this subscriber's failed rows.")
    ] = None,
) -> None:
    """Make deferred deliveries due now (failed or ambiguous ones only when named)."""
    service = open_service()
    now = utcnow()
    with service.db.session() as session:
        sid = subscribers.get_row(session, email).id if email else None
        count = deliveries.retry_now(session, now=now, subscriber_id=sid)
    typer.echo(f"{count} deliveries due again")
    print_delivery_report(deliver.deliver_due(service.delivery, now=now, subscriber_id=sid))


@deliveries_app.command("resolve")
def deliveries_resolve(
    email: Annotated[str, typer.Option(help="The subscriber of the ambiguous delivery.")],
    date: Annotated[
        dt.datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="Its digest date.")
    ],
    outcome: Annotated[str, typer.Option("--as", help="sent: it arrived; retry: send it again.")],
) -> None:
    """Settle an ambiguous delivery (DATA began, no reply): mark it sent, or send it again."""
    service = open_service()
    now = utcnow()
    with service.db.session() as session:
        sid = subscribers.get_row(session, email).id
        try:
            row = deliveries.resolve_ambiguous(session, sid, date.date(), outcome=outcome, now=now)
        except (LookupError, ValueError) as exc:
            raise DigestError(str(exc)) from None
        state = row.state
    typer.echo(f"{email} {date.date().isoformat()}: {state}")
    if state == "pending":
        print_delivery_report(deliver.deliver_due(service.delivery, now=now, subscriber_id=sid))
