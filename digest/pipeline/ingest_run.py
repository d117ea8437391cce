"""The ingest job as an entry point runs it: recorded in the runs table, counted in /metrics.

The scheduler's tick, `digest ingest` from cron and `digest run` all come through here, so
`digest status` and /healthz/detail see a cron-driven deployment as they see a scheduled one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

from digest.ingest.fetch import HostPacer
from digest.ingest.report import IngestReport
from digest.ops import run_tracking
from digest.ops.metrics import process_metrics
from digest.pipeline.complete_job import complete_metadata
from digest.pipeline.embed_job import embed_new_papers
from digest.pipeline.ingest_job import OnReport, ingest_files, ingest_sources
from digest.service import Service

log = logging.getLogger(__name__)


def run_ingest(
    service: Service,
    *,
    now: dt.datetime,
    files: Sequence[Path] = (),
    sources: Sequence[str] | None = None,
    fetch_sources: bool = True,
    pacer: HostPacer | None = None,
    on_report: OnReport | None = None,
) -> list[IngestReport]:
    """Ingest local files, then (when ``fetch_sources``) the named or all enabled sources, and
    complete papers missing authors or categories from the arXiv API (DIGEST_COMPLETE_METADATA).

    Only a fetching run asks the API: local files alone (the offline demo) make no request.
    Then every new paper is embedded for the ranking (DIGEST_EMBEDDING_MODEL), offline.
    """
    with run_tracking.track_run(service.db, "ingest", now=now) as run:
        reports = ingest_files(service, files, now=now, on_report=on_report)
        if fetch_sources:
            pacer = pacer or HostPacer()
            reports += ingest_sources(service, sources, now=now, pacer=pacer, on_report=on_report)
            if service.settings.complete_metadata:
                completed = complete_metadata(service, now=now, pacer=pacer)
                if completed.pages or completed.error:
                    reports.append(completed)
                    if on_report:
                        on_report(completed, len(reports), len(reports))
        embedded = embed_new_papers(service, now=now)
        process_metrics().count_ingest(reports)
        for report in reports:
            if report.error:
                log.warning("source failed: %s", report.error, extra={"source": report.source})
        run.summary.update(
            sources=len(reports),
            failed=sum(1 for r in reports if r.error),
            new=sum(r.new for r in reports),
            updated=sum(r.updated for r in reports),
            embedded=embedded,
        )
    return reports
