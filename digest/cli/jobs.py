"""The jobs from the command line: `ingest`, `preview`, `run`, `demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest import pipeline
from digest.cli.common import DateOpt, JsonOpt, open_service, parse_now
from digest.cli.output import (
    echo_json,
    pick_json,
    print_delivery_report,
    print_ingest_reports,
)
from digest.config import load_settings
from digest.deliver import send_loop as deliver
from digest.errors import DigestError
from digest.models import Digest
from digest.render.compose import compose_digest, digest_message_id
from digest.render.latex import readable
from digest.render.mime import parts_of
from digest.service import Service, utcnow


def ingest(
    file: Annotated[list[Path] | None, typer.Option("--file", help="A local feed file.")] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="A configured source.")
    ] = None,
    host_delay: Annotated[
        float,
        typer.Option(min=0, help="Seconds between requests to one host (arXiv's API: 3 at least)."),
    ] = 1.0,
) -> None:
    """Ingest local feed files and/or configured sources (all enabled sources by default)."""
    from digest.cli.progress import ingest_progress
    from digest.ingest.fetch import HostPacer
    from digest.pipeline.ingest_run import run_ingest

    service = open_service()
    with ingest_progress() as on_report:
        reports = run_ingest(
            service,
            now=utcnow(),
            files=file or [],
            sources=source,
            fetch_sources=bool(source or not file),
            pacer=HostPacer(host_delay),
            on_report=on_report,
        )
    print_ingest_reports(reports)
    for report in reports:
        if report.failing:
            typer.echo(f"WARNING: source {report.source} is {report.error}", err=True)
    if reports and all(r.error for r in reports):
        raise DigestError("every feed failed; see the errors above")


def preview(
    email: Annotated[str, typer.Argument(help="The subscriber's email address.")],
    date: DateOpt = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N papers.")] = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option(help="Write the HTML part here.")] = None,
    text: Annotated[Path | None, typer.Option(help="Write the text part here.")] = None,
    eml: Annotated[Path | None, typer.Option(help="Write the whole message (.eml) here.")] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Pretend it is this ISO time (trending decays from the digest date, or from "
            "this when it is earlier).",
        ),
    ] = None,
) -> None:
    """What this subscriber's digest would contain, best first (the email's own ranking).

    The files hold the parts of the very message `run` sends: the recorded digest when that date
    was already planned, else a fresh ranking.
    """
    service = open_service()
    moment = parse_now(now)
    day = date.date() if date else moment.date()
    stored = None if limit else deliver.stored_digest(service.db, email, day)
    if stored is None:
        digest, _ = pipeline.preview(service, email, day, now=moment, limit=limit)
        stored = deliver.StoredDigest(
            digest,
            not digest.picks,
            digest_message_id(service.settings.sender_domain, digest.subscriber.id, day),
        )
    digest = stored.digest
    rendered, message = compose_digest(
        service.composer,
        digest,
        message_id=stored.message_id,
        now=moment,
        nothing_matched=stored.nothing_matched,
    )
    _write_parts(message.data, html, text, eml)
    if as_json:
        echo_json([pick_json(pick) for pick in digest.picks])
    else:
        _print_preview(rendered.subject, digest)


def _write_parts(data: bytes, html: Path | None, text: Path | None, eml: Path | None) -> None:
    text_part, html_part = parts_of(data)
    if html:
        html.write_text(html_part, encoding="utf-8", newline="")
    if text:
        text.write_text(text_part, encoding="utf-8", newline="")
    if eml:
        eml.write_bytes(data)


def _print_preview(subject: str, digest: Digest) -> None:
    typer.echo(f"Subject: {subject}")
    for number, pick in enumerate(digest.picks, 1):
        typer.echo(f"{number:2}. [{pick.score:.3f}] {readable(pick.paper.title)}")
        typer.echo(f"    {pick.paper.url or ''}  {' · '.join(pick.reasons)}")
    for topic, count in digest.overflow:
        typer.echo(f"    +{count} more on {topic}")
    if not digest.picks:
        typer.echo("nothing matches this subscriber in the window before that date")


def run(
    date: DateOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Rank and show; send nothing.")
    ] = False,
    to: Annotated[str | None, typer.Option("--to", help="Only this subscriber.")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Skip fetching sources.")] = False,
    due: Annotated[
        bool, typer.Option("--due", help="Only the digests due now in each subscriber's zone.")
    ] = False,
    now: Annotated[str | None, typer.Option("--now", help="Pretend it is this ISO time.")] = None,
) -> None:
    """The daily job once: ingest configured sources, rank, render, deliver."""
    service = open_service()
    moment = parse_now(now)
    if not dry_run:
        for warning in service.settings.warnings():
            typer.echo(f"WARNING: {warning}", err=True)
    if due:
        due_report = pipeline.run_due(service, now=moment, dry_run=dry_run)
        for plan in due_report.plans:
            typer.echo(
                f"digest {plan.date}: {plan.planned} due digests recorded"
                + (f", {len(plan.previews)} would be sent" if dry_run else "")
            )
        if not due_report.plans:
            typer.echo("no digest is due at " + moment.isoformat())
        print_delivery_report(due_report.delivery)
        return
    day = date.date() if date else moment.date()
    report = pipeline.run_daily(
        service, day, now=moment, dry_run=dry_run, to=to, ingest=not no_ingest
    )
    print_ingest_reports(report.ingest)
    plan = report.plan
    if dry_run:
        for digest in plan.previews:
            typer.echo(f"would send {digest.subscriber.email}: {len(digest.picks)} papers")
        return
    typer.echo(
        f"digest {day}: {plan.planned} new digests planned, {plan.already_had} already "
        f"had theirs, {plan.skipped_no_match} with nothing matching"
    )
    print_delivery_report(report.delivery)


def demo() -> None:
    """Offline demo from an empty folder: schema, sample feeds, two subscribers, one daily run."""
    settings = load_settings()
    Service.open(settings, check_schema=False).db.upgrade()
    service = Service.open(settings)
    result = pipeline.run_demo(service, now=utcnow())
    print_ingest_reports(result.ingest)
    for email in result.added_subscribers:
        typer.echo(f"added sample subscriber {email}")
    day, report = result.date, result.run
    if report.plan.planned == 0:
        typer.echo(f"nothing new to send: every sample subscriber already has the digest for {day}")
    else:
        typer.echo(f"digest for {day}: {report.plan.planned} emails")
    print_delivery_report(report.delivery)
