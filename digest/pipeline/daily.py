"""The daily job: ingest, plan and deliver, with sending processes for many recipients."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from digest.deliver import send_processes
from digest.deliver.send_loop import DeliveryReport, deliver_due
from digest.ops import run_tracking
from digest.ops.metrics import process_metrics
from digest.pipeline.ingest_job import IngestReport
from digest.pipeline.ingest_run import run_ingest
from digest.pipeline.plan import PlanReport, plan_digests
from digest.service import Service, sending_process_parts
from digest.store import plan_shards, planning, subscribers


@dataclass
class RunReport:
    date: dt.date
    ingest: list[IngestReport]
    plan: PlanReport
    delivery: DeliveryReport | None


def run_daily(
    service: Service,
    date: dt.date,
    *,
    now: dt.datetime,
    dry_run: bool = False,
    to: str | None = None,
    ingest: bool = True,
) -> RunReport:
    """The daily job once: ingest configured sources, rank, record, render and deliver.

    A real run is recorded in the runs table (kind ``daily``), as the due tick is, so a
    deployment that runs `digest run` from cron shows in `digest status` and /healthz/detail.
    """
    if dry_run:
        return _run_daily(service, date, now=now, dry_run=True, to=to, ingest=False)
    with run_tracking.track_run(service.db, "daily", now=now) as run:
        report = _run_daily(service, date, now=now, dry_run=False, to=to, ingest=ingest)
        process_metrics().count_delivery(report.delivery)
        run.summary.update(run_summary([report.plan], report.delivery))
    return report


def run_summary(plans: Sequence[PlanReport], delivery: DeliveryReport | None) -> dict[str, int]:
    """What a planning-and-sending run did, as its runs row keeps it."""
    return {
        "recorded": sum(plan.planned for plan in plans),
        "nothing_matched": sum(plan.skipped_no_match for plan in plans),
        "sent": delivery.sent if delivery else 0,
        "deferred": delivery.deferred if delivery else 0,
        "failed": delivery.failed if delivery else 0,
    }


def _run_daily(
    service: Service,
    date: dt.date,
    *,
    now: dt.datetime,
    dry_run: bool,
    to: str | None,
    ingest: bool,
) -> RunReport:
    ingest_reports = run_ingest(service, now=now) if ingest else []
    if dry_run:
        plan = plan_digests(service, date, now=now, only=to, dry_run=True)
        return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=None)
    if to:
        plan = plan_digests(service, date, now=now, only=to)
        with service.db.session() as session:
            subscriber_id = subscribers.get_row(session, to).id
        delivery = deliver_due(service.delivery, now=now, subscriber_id=subscriber_id)
        return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=delivery)
    with service.db.session() as session:
        recipients = len(planning.confirmed_subscriber_ids(session))
    key = plan_shards.plan_key("daily", date, service.settings.window_days, now)
    with sending(service, now=now, recipients=recipients) as sent:
        plan = plan_digests(service, date, now=now, shard_key=key, on_recorded=sent.recorded)
    return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=sent.report)


@dataclass
class Sending:
    """What the body of :func:`sending` tells it (``recorded``) and learns (``report``)."""

    report: DeliveryReport | None = None
    recorded: Callable[[int], None] = lambda count: None  # deliveries just planned


@contextlib.contextmanager
def sending(service: Service, *, now: dt.datetime, recipients: int) -> Iterator[Sending]:
    """Deliver what the ``with`` body records: for many recipients, from several processes
    that start sending while planning goes on; else in-process once the body is done.

    When replicas share the planning (PostgreSQL) and the number of processes is automatic,
    they start only once this replica has planned ``LAZY_FROM`` deliveries itself: a replica
    of three plans a third of the recipients it counted.
    """
    settings = service.settings
    processes = send_processes.process_count(settings, recipients)
    result = Sending()
    if processes <= 1:
        yield result
        result.report = deliver_due(service.delivery, now=now)
        return
    senders = send_processes.SendProcesses(
        service.delivery, settings, sending_process_parts, now=now, processes=processes
    )
    if settings.delivery_processes or service.db.engine.dialect.name != "postgresql":
        senders.start()
    planned = 0

    def recorded(count: int) -> None:
        nonlocal planned
        planned += count
        if planned >= send_processes.LAZY_FROM:
            senders.start()

    result.recorded = recorded
    try:
        yield result
    finally:
        failures = senders.collect()
    if failures:
        raise send_processes.SendProcessFailed("; ".join(failures))
    if not senders.started:  # abandoned claims were settled when the senders were made
        senders.report.add(deliver_due(service.delivery, now=now, recover=False))
    result.report = senders.report
