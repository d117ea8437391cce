"""Operating the service: each job run recorded (runs table, metrics, log run id) and health.

`track_run` wraps a job so that `digest status`, /healthz and /metrics see it, whichever entry
point ran it (the scheduler's tick, `digest run --due` from cron, three replicas at once).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digest.errors import DigestError
from digest.ops.logging_setup import run_context
from digest.ops.metrics import CONTENT_TYPE, process_metrics, render_metrics
from digest.service import Service, utcnow
from digest.store import runs

log = logging.getLogger(__name__)


@dataclass
class RunTracker:
    """The run in progress; the job adds its figures to `summary`, kept in the runs row."""

    id: int
    kind: str
    summary: dict[str, Any] = field(default_factory=dict)


@contextmanager
def track_run(service: Service, kind: str, *, now: dt.datetime) -> Iterator[RunTracker]:
    """Record a job run from start to end; an exception marks it `error` and propagates.

    `now` is the job's clock (simulated under `--now`); the duration is measured for real.
    """
    started = time.monotonic()
    with service.db.session() as session:
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
            _finish(service, tracker, now + dt.timedelta(seconds=elapsed), status)
            busy = any(v for k, v in tracker.summary.items() if k != "seconds")
            log.log(
                logging.INFO if busy or status != "ok" else logging.DEBUG,
                "%s run %s: %s",
                kind,
                status,
                ", ".join(f"{k}={v}" for k, v in sorted(tracker.summary.items())),
                extra={"job": kind},
            )


def _finish(service: Service, tracker: RunTracker, now: dt.datetime, status: str) -> None:
    try:
        with service.db.session() as session:
            runs.finish_run(session, tracker.id, now=now, status=status, summary=tracker.summary)
    except Exception as exc:  # the job's own outcome matters more than its bookkeeping
        log.error("could not record the end of %s run %s: %s", tracker.kind, tracker.id, exc)


@dataclass(frozen=True)
class Health:
    """What /healthz reports. `ok` needs the database and a current schema; ages inform."""

    ok: bool
    database: bool
    schema: str  # current | behind | unknown
    last_ingest_age_seconds: float | None = None
    last_due_tick_age_seconds: float | None = None
    last_send_age_seconds: float | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = "ok" if self.ok else "error"
        return {k: v for k, v in data.items() if v is not None or k.endswith("seconds")}


def health_report(service: Service, *, now: dt.datetime) -> Health:
    db = service.db
    try:
        current = db.current_revision()
    except (DigestError, Exception) as exc:
        return Health(False, False, "unknown", error=type(exc).__name__)
    if current != db.head_revision():
        return Health(False, True, "behind")

    def age(moment: dt.datetime | None) -> float | None:
        return None if moment is None else round((now - moment).total_seconds(), 1)

    with db.session() as session:
        ingest = max(
            (
                m
                for m in (runs.last_success(session, "ingest"), runs.last_source_success(session))
                if m is not None
            ),
            default=None,
        )
        due = runs.last_success(session, "due")
        sent = runs.last_sent_at(session)
    return Health(True, True, "current", age(ingest), age(due), age(sent))


# --- web endpoints (routed in digest/web/app.py) -----------------------------------------


def _service_of(request: Request) -> Service:
    service: Service = request.app.state.web.service
    return service


async def health_endpoint(request: Request) -> Response:
    """/healthz/detail: 200 when the database answers with a current schema, else 503; the
    ages of the last ingest, due tick and sent email (seconds, null when never) inform."""
    report = await run_in_threadpool(health_report, _service_of(request), now=utcnow())
    return JSONResponse(report.as_json(), status_code=200 if report.ok else 503)


def _is_internal(request: Request) -> bool:
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


async def metrics_endpoint(request: Request) -> Response:
    """/metrics for Prometheus; only loopback and private-network clients may read it."""
    if not _is_internal(request):
        return PlainTextResponse("Not Found", status_code=404)
    body = await run_in_threadpool(render_metrics, _service_of(request))
    return Response(body, media_type=CONTENT_TYPE)


routes = [
    Route("/healthz/detail", health_endpoint, methods=["GET", "HEAD"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]
