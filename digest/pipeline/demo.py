"""The offline demo: bundled samples in, two sample subscribers, one daily run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from digest.models import (
    Topic,
)
from digest.pipeline.daily import RunReport, run_daily
from digest.pipeline.ingest_job import IngestReport
from digest.pipeline.ingest_run import run_ingest
from digest.resources import samples_dir
from digest.service import Service
from digest.store import papers, subscribers

SAMPLE_SUBSCRIBERS = (
    ("ada@example.org", ("LLM agents", "reinforcement learning"), ("medical imaging",)),
    ("grace@example.org", ("diffusion models", "video generation", "knowledge distillation"), ()),
)


@dataclass
class DemoResult:
    ingest: list[IngestReport]
    added_subscribers: list[str]
    date: dt.date
    run: RunReport


def run_demo(service: Service, *, now: dt.datetime) -> DemoResult:
    """Bundled samples in, two sample subscribers if there are none, one daily run.

    The digest date is the day of the newest sample paper, so a rerun on any day is the same
    day's digest again and sends nothing.
    """
    reports = run_ingest(
        service, now=now, files=sorted(samples_dir().iterdir()), fetch_sources=False
    )
    added = []
    with service.db.session() as session:
        if not subscribers.all_rows(session):
            for email, topics, exclude in SAMPLE_SUBSCRIBERS:
                subscribers.upsert_subscriber(
                    session,
                    email,
                    now=now,
                    state="confirmed",
                    profile_changes={"topics": tuple(Topic(t) for t in topics), "exclude": exclude},
                )
                added.append(email)
        date = papers.newest_announcement(session) or now.date()
    run = run_daily(service, date, now=now, ingest=False)
    return DemoResult(ingest=reports, added_subscribers=added, date=date, run=run)
