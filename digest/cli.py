"""The `digest` command: parse arguments, call the pipeline or the store, print. Nothing more.

The command names, flags and --json fields are a contract (README): keep them, add freely.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from digest import pipeline
from digest.cli_output import (
    echo_json,
    paper_json,
    pick_json,
    print_delivery_report,
    print_ingest_reports,
)
from digest.cli_subscribers import subscribers_app
from digest.config import load_settings
from digest.deliver import send_loop as deliver
from digest.errors import DigestError
from digest.render.compose import compose_digest, digest_message_id
from digest.render.mime import parts_of
from digest.service import Service, utcnow
from digest.store import deliveries, papers, sources, subscribers

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Daily email digest of the research papers that match each subscriber.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
sources_app = typer.Typer(no_args_is_help=True, help="Configured feed sources.")
papers_app = typer.Typer(no_args_is_help=True, help="Stored papers.")
deliveries_app = typer.Typer(no_args_is_help=True, help="The outbox: one row per digest sent.")
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(papers_app, name="papers")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(deliveries_app, name="deliveries")

DateOpt = Annotated[
    dt.datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="Digest date (default: today, UTC)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def open_service(check_schema: bool = True) -> Service:
    return Service.open(load_settings(), check_schema=check_schema)


def today() -> dt.date:
    return utcnow().date()


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


@app.command()
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
    from digest.cli_progress import ingest_progress
    from digest.ingest.fetch import HostPacer
    from digest.pipeline.ingest_job import ingest_files, ingest_sources

    service = open_service()
    now = utcnow()
    with ingest_progress() as on_report:
        reports = ingest_files(service, file or [], now=now, on_report=on_report)
        if source or not file:
            reports += ingest_sources(
                service, source, now=now, pacer=HostPacer(host_delay), on_report=on_report
            )
    print_ingest_reports(reports)
    for report in reports:
        if report.failing:
            typer.echo(f"WARNING: source {report.source} is {report.error}", err=True)
    if reports and all(r.error for r in reports):
        raise DigestError("every feed failed; see the errors above")


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
        flag = "FAILING " if item["failing"] else ""
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


@papers_app.command("list")
def papers_list(
    since: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
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
        typer.echo(f"{day}  {paper.arxiv_id or paper.doi or paper.key}  {paper.title}")


@app.command()
def preview(
    email: str,
    date: DateOpt = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N papers.")] = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option(help="Write the HTML part here.")] = None,
    text: Annotated[Path | None, typer.Option(help="Write the text part here.")] = None,
    eml: Annotated[Path | None, typer.Option(help="Write the whole message (.eml) here.")] = None,
) -> None:
    """What this subscriber's digest would contain, best first (the email's own ranking).

    The files hold the parts of the very message `run` sends: the recorded digest when that date
    was already planned, else a fresh ranking.
    """
    service = open_service()
    day = date.date() if date else today()
    now = utcnow()
    stored = None if limit else deliver.stored_digest(service, email, day)
    if stored is None:
        digest, _ = pipeline.preview(service, email, day, now=now, limit=limit)
        stored = deliver.StoredDigest(
            digest, not digest.picks, digest_message_id(service, digest.subscriber, day)
        )
    digest = stored.digest
    rendered, message = compose_digest(
        service,
        digest,
        message_id=stored.message_id,
        now=now,
        nothing_matched=stored.nothing_matched,
    )
    text_part, html_part = parts_of(message.data)
    if html:
        html.write_text(html_part, encoding="utf-8", newline="")
    if text:
        text.write_text(text_part, encoding="utf-8", newline="")
    if eml:
        eml.write_bytes(message.data)
    if as_json:
        echo_json([pick_json(pick) for pick in digest.picks])
        return
    typer.echo(f"Subject: {rendered.subject}")
    for number, pick in enumerate(digest.picks, 1):
        typer.echo(f"{number:2}. [{pick.score:.3f}] {pick.paper.title}")
        typer.echo(f"    {pick.paper.url or ''}  {' · '.join(pick.reasons)}")
    for topic, count in digest.overflow:
        typer.echo(f"    +{count} more on {topic}")
    if not digest.picks:
        typer.echo("nothing matches this subscriber in the window before that date")


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


@app.command()
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


@app.command()
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


@deliveries_app.command("list")
def deliveries_list(
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    date: DateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delivery rows with their state, attempts and last SMTP reply."""
    service = open_service()
    with service.db.session() as session:
        rows = [
            deliveries.delivery_json(row, email)
            for row, email in deliveries.list_deliveries(
                session, state=state, date=date.date() if date else None
            )
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
    print_delivery_report(deliver.deliver_due(service, now=now, subscriber_id=sid))


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
        print_delivery_report(deliver.deliver_due(service, now=now, subscriber_id=sid))


TickOpt = Annotated[
    int, typer.Option("--tick-seconds", min=1, help="Seconds between send-due ticks.")
]
PretendNowOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Rehearse: the jobs' clock starts at this ISO time and runs on from there "
        "(the web site keeps the real clock).",
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Serve the web site only.")
    ] = False,
    tick_seconds: TickOpt = 300,
    now: PretendNowOpt = None,
) -> None:
    """The web site (subscribe, confirm, manage, unsubscribe) and the scheduler.

    SIGTERM stops the web site, lets a running send finish and record its outcome, then exits 0.
    """
    from digest.ops.logging_setup import configure_logging
    from digest.scheduler import scheduler_clock, start_for_serve, termination_signals
    from digest.web.server import serve as serve_web

    configure_logging()
    service = open_service()
    clock = scheduler_clock(parse_now(now) if now else None)
    tick = dt.timedelta(seconds=tick_seconds)
    with termination_signals() as stopped:
        running = None if no_scheduler else start_for_serve(service, clock=clock, tick=tick)
        try:
            if not stopped.is_set():  # a SIGTERM during start-up means: do not serve
                serve_web(service, host=host, port=port)
        finally:
            if running is not None:
                running.stop()


@app.command()
def scheduler(tick_seconds: TickOpt = 300, now: PretendNowOpt = None) -> None:
    """The scheduled jobs (ingest, send what is due) without the web site."""
    from digest.ops.logging_setup import configure_logging
    from digest.scheduler import run_forever, scheduler_clock

    configure_logging()
    clock = scheduler_clock(parse_now(now) if now else None)
    run_forever(open_service(), clock=clock, tick=dt.timedelta(seconds=tick_seconds))


@app.command()
def status(
    as_json: JsonOpt = False,
    now: Annotated[str | None, typer.Option("--now", help="Pretend it is this ISO time.")] = None,
) -> None:
    """Last runs, what is due now and next, failing sources, deliveries needing a look."""
    from digest.ops.status import status_lines, status_report

    report = status_report(open_service(), now=parse_now(now))
    if as_json:
        echo_json(report.as_json())
        return
    for line in status_lines(report):
        typer.echo(line)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user errors become one line on stderr and exit code 1."""
    try:
        return app(args=argv, standalone_mode=False)
    except DigestError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except SystemExit:
        raise
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors (typer's own click) in non-standalone mode
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
