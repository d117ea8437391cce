"""The due job: the digests due now in each subscriber's own time zone."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from digest.deliver.send_loop import DeliveryReport
from digest.models import (
    Subscriber,
)
from digest.ops import due_times, run_tracking
from digest.ops.metrics import process_metrics
from digest.pipeline.daily import run_summary, sending
from digest.pipeline.plan import PlanReport, plan_digests
from digest.service import Service
from digest.store import deliveries, plan_shards, subscribers

log = logging.getLogger(__name__)


@dataclass
class DueReport:
    plans: list[PlanReport]
    delivery: DeliveryReport | None


def run_due(service: Service, *, now: dt.datetime, dry_run: bool = False) -> DueReport:
    """Record and send exactly the digests due at `now` in each subscriber's own time zone.

    Weekly subscribers look back at least a week, so a weekly digest covers the whole week.
    A real run is recorded in the runs table (for `digest status`, /healthz and /metrics).
    """
    if dry_run:
        return _run_due(service, now=now, dry_run=True)
    with run_tracking.track_run(service.db, "due", now=now) as run:
        report = _run_due(service, now=now, dry_run=False)
        process_metrics().count_delivery(report.delivery)
        run.summary.update(run_summary(report.plans, report.delivery))
    return report


def _run_due(service: Service, *, now: dt.datetime, dry_run: bool) -> DueReport:
    groups: dict[tuple[dt.date, int], list[Subscriber]] = {}
    with service.db.session() as session:
        for subscriber, paused_until in subscribers.confirmed_with_pause(session):
            date = due_times.due_digest_date(subscriber, now, paused_until)
            if date is not None:
                window = due_times.window_days_for(subscriber, service.settings.window_days)
                groups.setdefault((date, window), []).append(subscriber)
                log.debug("due", extra={"subscriber_id": subscriber.id, "date": str(date)})
        for date, window in list(groups):  # who already has that date's row needs no ranking
            have = deliveries.dates_with_delivery(session, date)
            groups[date, window] = [s for s in groups[date, window] if s.id not in have]

    def plan_all(recorded: Callable[[int], None] = lambda count: None) -> list[PlanReport]:
        return [
            plan_digests(
                service,
                date,
                now=now,
                targets=targets,
                dry_run=dry_run,
                window_days=window,
                shard_key=plan_shards.plan_key("due", date, window, now),
                on_recorded=recorded,
            )
            for (date, window), targets in sorted(groups.items())
            if targets
        ]

    if dry_run:
        return DueReport(plans=plan_all(), delivery=None)
    recipients = sum(len(targets) for targets in groups.values())
    with sending(service, now=now, recipients=recipients) as sent:
        plans = plan_all(sent.recorded)
    return DueReport(plans=plans, delivery=sent.report)
