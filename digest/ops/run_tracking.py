"""Each job run recorded: a row in the runs table, a duration metric, the run id in every log line.

`track_run` wraps a job so that `digest status`, /healthz/detail and /metrics see it, whichever
entry point ran it (the scheduler's tick, `digest run --due` from cron, three replicas at once).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from digest.ops.logging_setup import run_context
from digest.ops.metrics import process_metrics
from digest.store import runs
from digest.store.db import Database

log = logging.getLogger(__name__)


@dataclass
class RunTracker:
    """The run in progress; the job adds its figures to `summary`, kept in the runs row."""

    id: int
    kind: str
    summary: dict[str, Any] = field(default_factory=dict)


@contextmanager
def track_run(db: Database, kind: str, *, now: dt.datetime) -> Iterator[RunTracker]:
    """Record a job run from start to end; an exception marks it `error` and propagates.

    `now` is the job's clock (simulated under `--now`); the duration is measured for real.
    """
    started = time.monotonic()
    with db.session() as session:
        tracker = RunTracker(runs.start_run(session, kind, now=now), kind)
    status = "ok"
    with run_context(str(tracker.id)):
        try:
            yield tracker
        except BaseException as exc:
            status = "error"
            tracker.summary["error"] = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            elapsed = time.monotonic() - started
            process_metrics().run_seconds.labels(kind).observe(elapsed)
            tracker.summary["seconds"] = round(elapsed, 3)
            _finish(db, tracker, now + dt.timedelta(seconds=elapsed), status)
            busy = any(v for k, v in tracker.summary.items() if k != "seconds")
            log.log(
                logging.INFO if busy or status != "ok" else logging.DEBUG,
                "%s run %s: %s",
                kind,
                status,
                ", ".join(f"{k}={v}" for k, v in sorted(tracker.summary.items())),
                extra={"job": kind},
            )


def _finish(db: Database, tracker: RunTracker, now: dt.datetime, status: str) -> None:
    try:
        with db.session() as session:
            runs.finish_run(session, tracker.id, now=now, status=status, summary=tracker.summary)
    except Exception as exc:  # the job's own outcome matters more than its bookkeeping
        log.error("could not record the end of %s run %s: %s", tracker.kind, tracker.id, exc)
