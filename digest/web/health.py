"""/healthz, /healthz/detail and /metrics: what a load balancer, an operator and Prometheus read.

The checks themselves are in :mod:`digest.ops.health` and :mod:`digest.ops.metrics`; these are
plain ``def`` endpoints, so their database reads run in Starlette's thread pool and never hold
up the event loop.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digest.ops.health import health_report, schema_health
from digest.ops.metrics import CONTENT_TYPE, render_metrics
from digest.service import utcnow
from digest.web.pages import web


def healthz(request: Request) -> Response:
    """200 when the database answers and its schema is the one the code needs, else 503."""
    health = schema_health(web(request).service.db)
    return JSONResponse(health.brief_json(), status_code=200 if health.ok else 503)


def health_detail(request: Request) -> Response:
    """/healthz/detail: the same verdict, with the ages of the last ingest, due tick and sent
    email (seconds, null when never)."""
    health = health_report(web(request).service.db, now=utcnow())
    return JSONResponse(health.as_json(), status_code=200 if health.ok else 503)


def _is_internal(request: Request) -> bool:
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def metrics(request: Request) -> Response:
    """/metrics for Prometheus; only loopback and private-network clients may read it."""
    if not _is_internal(request):
        return PlainTextResponse("Not Found", status_code=404)
    return Response(render_metrics(web(request).service.db), media_type=CONTENT_TYPE)


routes = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/healthz/detail", health_detail, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
]
