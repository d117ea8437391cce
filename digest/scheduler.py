"""APScheduler wiring only: when to call the pipeline's jobs. The jobs themselves live elsewhere.

Jobs: ingest every configured source shortly after arXiv's announcement and hourly for the
trending feeds (conditional GET makes an unchanged feed cost one request), a tick every
few minutes that sends what is due in each subscriber's time zone, and, when a bounce
mailbox is configured, a fetch of its reports every DIGEST_BOUNCE_IMAP_MINUTES. Misfires are
coalesced and run late (never dropped silently), and a job never runs twice at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest import pipeline
from digest.deliver.bounce_mailbox import Mailbox
from digest.errors import DigestError
from digest.pipeline.bounce_fetch import fetch_bounce_mailbox
from digest.pipeline.ingest_run import run_ingest
from digest.service import Service, utcnow
from digest.store.db import SchedulerLock

log = logging.getLogger(__name__)

TICK_MINUTES = 5
JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True,  # after downtime: one run, not one per missed slot
    "max_instances": 1,  # a long run is never overlapped by the next
    "misfire_grace_time": 6 * 3600,  # late is better than never; APScheduler's default is 1 s
}


Clock = Callable[[], dt.datetime]


def scheduler_clock(pretend_now: dt.datetime | None = None) -> Clock:
    """The jobs' clock: real time, or real time shifted so that it starts at `pretend_now`.

    `digest serve --now` uses the shift to rehearse a send time (and tests to reach one):
    triggers still fire on real time, but every job sees the shifted moment.
    """
    if pretend_now is None:
        return utcnow
    offset = pretend_now - utcnow()
    return lambda: utcnow() + offset


def ingest_job(service: Service, clock: Clock = utcnow) -> None:
    run_ingest(service, now=clock())


def bounce_fetch_job(service: Service, clock: Clock = utcnow) -> None:
    """Read the bounce mailbox; one that cannot be reached is a warning line, and the next
    fetch tries again (no traceback every few minutes while the server is down)."""
    try:
        fetch_bounce_mailbox(service, now=clock())
    except DigestError as exc:
        log.warning("bounce mailbox not read: %s", exc, extra={"job": "bounces-fetch"})


def due_job(
    service: Service, clock: Clock = utcnow, stopping: threading.Event | None = None
) -> None:
    """One tick: send what is due; a tick that starts after SIGTERM does nothing."""
    if stopping is not None and stopping.is_set():
        return
    pipeline.run_due(service, now=clock())


def _log_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "job %s missed its run at %s",
            event.job_id,
            event.scheduled_run_time,
            extra={"job": event.job_id},
        )
    elif event.exception is not None:
        log.error("job %s failed: %s", event.job_id, event.exception, extra={"job": event.job_id})


def build_scheduler(
    service: Service,
    *,
    clock: Clock = utcnow,
    tick: dt.timedelta = dt.timedelta(minutes=TICK_MINUTES),
    stopping: threading.Event | None = None,
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    scheduler.add_listener(_log_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    # arXiv announces at 20:00 US Eastern, Sunday to Thursday: 00:00-01:00 UTC Monday to Friday.
    scheduler.add_job(
        ingest_job,
        CronTrigger(day_of_week="mon-fri", hour=1, minute=30),
        args=[service, clock],
        id="ingest-announcement",
    )
    scheduler.add_job(ingest_job, CronTrigger(minute=15), args=[service, clock], id="ingest-hourly")
    scheduler.add_job(
        due_job,
        IntervalTrigger(seconds=tick.total_seconds()),
        args=[service, clock, stopping],
        id="send-due",
        next_run_time=utcnow(),
    )
    if Mailbox.from_settings(service.settings) is not None:
        scheduler.add_job(
            bounce_fetch_job,
            IntervalTrigger(minutes=service.settings.bounce_imap_minutes),
            args=[service, clock],
            id="bounces-fetch",
            next_run_time=utcnow(),
        )
    return scheduler


class RunningScheduler:
    """A started scheduler plus the lock that makes it the only one on this database."""

    def __init__(
        self,
        service: Service,
        *,
        clock: Clock = utcnow,
        tick: dt.timedelta = dt.timedelta(minutes=TICK_MINUTES),
    ) -> None:
        self.lock = SchedulerLock(service.db)
        self.lock.acquire()  # raises DigestError with a clear message when another one runs
        self.stopping = threading.Event()
        self.scheduler = build_scheduler(service, clock=clock, tick=tick, stopping=self.stopping)
        self.scheduler.start()
        log.info("scheduler started: a send tick every %s", tick)
        for warning in service.settings.warnings():  # once, not at every tick
            log.warning(warning)

    def stop(self) -> None:
        """Take no new work, let a running job finish its sends, then give up the lock."""
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        self.lock.release()
        log.info("scheduler stopped")


def start_for_serve(
    service: Service,
    *,
    clock: Clock = utcnow,
    tick: dt.timedelta = dt.timedelta(minutes=TICK_MINUTES),
) -> RunningScheduler | None:
    """Start the scheduler beside the web site; on PostgreSQL a replica that is not the leader
    serves the web only (the leader's tick sends, and rows are claimed with SKIP LOCKED)."""
    try:
        return RunningScheduler(service, clock=clock, tick=tick)
    except DigestError:
        if service.db.is_sqlite:
            raise
        log.info("another replica runs the scheduler; this one serves the web site only")
        return None


@contextmanager
def termination_signals() -> Iterator[threading.Event]:
    """SIGTERM and SIGINT set the yielded event instead of killing the process.

    uvicorn handles both signals while it serves and raises them again once it has shut down;
    with this handler in place the re-raised signal lets the caller stop the scheduler and exit
    0 instead of dying before in-flight sends are recorded.
    """
    stopped = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stopped.set())
    try:
        yield stopped
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_forever(
    service: Service,
    *,
    clock: Clock = utcnow,
    tick: dt.timedelta = dt.timedelta(minutes=TICK_MINUTES),
) -> None:
    """`digest scheduler`: the jobs without the web site, until SIGTERM or Ctrl-C."""
    with termination_signals() as stopped:
        running = RunningScheduler(service, clock=clock, tick=tick)
        stopped.wait()
        running.stop()
