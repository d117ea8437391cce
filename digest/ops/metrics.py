"""Prometheus metrics (prometheus-client): counters this process saw, gauges read at scrape.

Counters (papers ingested, deliveries by outcome, source failures, run durations) live in a
registry made on first use, never at import. The outbox gauges are read from the database at
scrape time, so every replica reports the same shared outbox and a restart loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from digest.deliver.policy import BouncePolicy
from digest.ops.bounce_rates import BounceCollector
from digest.store import runs
from digest.store.db import Database

if TYPE_CHECKING:
    from digest.deliver.outcomes import DeliveryReport
    from digest.ingest.report import IngestReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The process's counters, in their own registry (tests can make a fresh one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.papers_ingested = Counter(
            "digest_papers_ingested",
            "Papers new or updated by ingestion, by source.",
            ["source"],
            registry=self.registry,
        )
        self.source_failures = Counter(
            "digest_source_failures",
            "Feed fetches or parses that failed, by source.",
            ["source"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "digest_deliveries",
            "Delivery attempts by outcome (sent, deferred, failed, ambiguous, skipped).",
            ["outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "digest_run_duration_seconds",
            "How long each job run took, by kind.",
            ["kind"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=self.registry,
        )

    def count_ingest(self, reports: Sequence[IngestReport]) -> None:
        for report in reports:
            self.papers_ingested.labels(report.source).inc(report.new + report.updated)
            if report.error:
                self.source_failures.labels(report.source).inc()

    def count_delivery(self, report: DeliveryReport | None) -> None:
        if report is None:
            return
        for outcome in ("sent", "deferred", "failed", "ambiguous", "skipped"):
            self.deliveries.labels(outcome).inc(getattr(report, outcome))


@cache
def process_metrics() -> Metrics:
    """The one Metrics of this process, made on first use."""
    return Metrics()


class OutboxCollector(Collector):
    """Gauges read from the database at scrape time: the outbox and the last good runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.db.session() as session:
            states = runs.deliveries_by_state(session)
            deferred = runs.deferred_by_code(session)
            last = {kind: runs.last_success(session, kind) for kind in ("ingest", "due")}
            last_sent = runs.last_sent_at(session)
        outbox = GaugeMetricFamily(
            "digest_outbox_deliveries", "Delivery rows by state.", labels=["state"]
        )
        for state, count in sorted(states.items()):
            outbox.add_metric([state], count)
        yield outbox
        waiting = GaugeMetricFamily(
            "digest_outbox_deferred",
            "Deferred delivery rows by last SMTP reply code (the reason they wait).",
            labels=["code"],
        )
        for code, count in sorted(deferred.items()):
            waiting.add_metric([code], count)
        yield waiting
        finished = GaugeMetricFamily(
            "digest_last_success_timestamp_seconds",
            "When the newest successful run of each kind finished (Unix time).",
            labels=["kind"],
        )
        for kind, moment in sorted(last.items()):
            if moment is not None:
                finished.add_metric([kind], moment.timestamp())
        if last_sent is not None:
            finished.add_metric(["send"], last_sent.timestamp())
        yield finished


def render_metrics(
    db: Database,
    metrics: Metrics | None = None,
    *,
    policy: BouncePolicy | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> bytes:
    """The text exposition of this process's counters plus the database gauges (with
    ``policy`` and ``now``, the bounce and complaint rates of the last days too)."""
    metrics = metrics or process_metrics()
    registry = CollectorRegistry()
    registry.register(OutboxCollector(db))
    if policy is not None and now is not None:
        registry.register(BounceCollector(db, policy, now))
    return generate_latest(metrics.registry) + generate_latest(registry)
