"""APScheduler wiring only: when to call the pipeline's jobs. The jobs themselves live elsewhere.

Jobs: ingest every configured source shortly after arXiv's announcement and hourly for the
trending feeds (conditional GET makes an unchanged feed cost one request), and a tick every
few minutes that sends what is due in each subscriber's time zone. Misfires are coalesced and
run late (never dropped silently), and a job never runs twice at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest import pipeline
from digest.errors import DigestError
from digest.ingest_job import ingest_sources
from digest.service import Service, utcnow
from digest.store.db import SchedulerLock

log = logging.getLogger(__name__)

TICK_MINUTES = 5
JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True,  # after downtime: one run, not one per missed slot
    "max_instances": 1,  # a long run is never overlapped by the next
    "misfire_grace_time": 6 * 3600,  # late is better than never; APScheduler's default is 1 s
}


def ingest_job(service: Service) -> None:
    reports = ingest_sources(service, None, now=utcnow())
    failed = [r.source for r in reports if r.error]
    log.info("ingest finished: %d sources, %d failed", len(reports), len(failed))


def due_job(service: Service) -> None:
    report = pipeline.run_due(service, now=utcnow())
    planned = sum(plan.planned for plan in report.plans)
    if planned or (report.delivery and report.delivery.sent):
        log.info(
            "due tick: %d digests recorded, %d sent",
            planned,
            report.delivery.sent if report.delivery else 0,
        )


def _log_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
    elif event.exception is not None:
        log.error("job %s failed: %s", event.job_id, event.exception)


def build_scheduler(service: Service) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    scheduler.add_listener(_log_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    # arXiv announces at 20:00 US Eastern, Sunday to Thursday: 00:00-01:00 UTC Monday to Friday.
    scheduler.add_job(
        ingest_job,
        CronTrigger(day_of_week="mon-fri", hour=1, minute=30),
        args=[service],
        id="ingest-announcement",
    )
    scheduler.add_job(ingest_job, CronTrigger(minute=15), args=[service], id="ingest-hourly")
    scheduler.add_job(
        due_job,
        IntervalTrigger(minutes=TICK_MINUTES),
        args=[service],
        id="send-due",
        next_run_time=utcnow(),
    )
    return scheduler


class RunningScheduler:
    """A started scheduler plus the lock that makes it the only one on this database."""

    def __init__(self, service: Service) -> None:
        self.lock = SchedulerLock(service.db)
        self.lock.acquire()  # raises DigestError with a clear message when another one runs
        self.scheduler = build_scheduler(service)
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.lock.release()


def start_for_serve(service: Service) -> RunningScheduler | None:
    """Start the scheduler beside the web site; on PostgreSQL a replica that is not the leader
    serves the web only (the leader's tick sends, and rows are claimed with SKIP LOCKED)."""
    try:
        return RunningScheduler(service)
    except DigestError:
        if service.db.is_sqlite:
            raise
        log.info("another replica runs the scheduler; this one serves the web site only")
        return None


def run_forever(service: Service) -> None:
    """`digest scheduler`: the jobs without the web site, until SIGTERM or Ctrl-C."""
    import signal

    running = RunningScheduler(service)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    running.stop()
