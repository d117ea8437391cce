"""The jobs top to bottom: the daily run, the due run, planning, the ingest job, preview, demo.

The only place that calls ingest, store, rank, render and deliver together; entry points (cli/,
web/, the scheduler) call these and nothing below them directly.
"""

from digest.ingest.report import IngestReport
from digest.pipeline.daily import RunReport, run_daily
from digest.pipeline.demo import DemoResult, run_demo
from digest.pipeline.digests import RankingContext, digest_for, preview, ranking_context
from digest.pipeline.due import DueReport, run_due
from digest.pipeline.ingest_job import ingest_files, ingest_sources
from digest.pipeline.plan import PlanReport, plan_digests

__all__ = [
    "DemoResult",
    "DueReport",
    "IngestReport",
    "PlanReport",
    "RankingContext",
    "RunReport",
    "digest_for",
    "ingest_files",
    "ingest_sources",
    "plan_digests",
    "preview",
    "ranking_context",
    "run_daily",
    "run_demo",
    "run_due",
]
