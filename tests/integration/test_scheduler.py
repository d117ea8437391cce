"""The scheduler: deliberate misfire handling, and one scheduler per database."""

from __future__ import annotations

import pytest

from digest.errors import DigestError
from digest.scheduler import build_scheduler
from digest.service import Service
from digest.store.db import Database, SchedulerLock


def test_a_second_scheduler_on_the_same_database_is_refused(service: Service) -> None:
    first = SchedulerLock(service.db)
    first.acquire()
    try:
        other_process_view = Database(service.db.url)
        with pytest.raises(DigestError, match="another digest scheduler"):
            SchedulerLock(other_process_view).acquire()
    finally:
        first.release()
    again = SchedulerLock(Database(service.db.url))
    again.acquire()
    again.release()


def test_jobs_coalesce_missed_runs_and_never_overlap(service: Service) -> None:
    scheduler = build_scheduler(service)
    scheduler.start(paused=True)  # pending jobs get their settings when the scheduler starts
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert set(jobs) == {"ingest-announcement", "ingest-hourly", "send-due"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 3600
