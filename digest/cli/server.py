"""The long-running commands: `serve`, `scheduler`, and `status` of what they did."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from digest.cli.common import JsonOpt, open_service, parse_now
from digest.cli.output import (
    echo_json,
)

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


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
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


def scheduler(tick_seconds: TickOpt = 300, now: PretendNowOpt = None) -> None:
    """The scheduled jobs (ingest, send what is due) without the web site."""
    from digest.ops.logging_setup import configure_logging
    from digest.scheduler import run_forever, scheduler_clock

    configure_logging()
    clock = scheduler_clock(parse_now(now) if now else None)
    run_forever(open_service(), clock=clock, tick=dt.timedelta(seconds=tick_seconds))


def status(
    as_json: JsonOpt = False,
    now: Annotated[str | None, typer.Option("--now", help="Pretend it is this ISO time.")] = None,
) -> None:
    """Last runs, what is due now and next, failing sources, deliveries needing a look."""
    from digest.ops.status import status_lines, status_report

    service = open_service()
    report = status_report(service.db, now=parse_now(now), policy=service.bounce_policy)
    if as_json:
        echo_json(report.as_json())
        return
    for line in status_lines(report):
        typer.echo(line)
