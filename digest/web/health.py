"""/healthz, /healthz/detail and /metrics: what a load balancer, an operator and Prometheus read.

The checks themselves are in :mod:`digest.ops.health` and :mod:`digest.ops.metrics`; their
database reads run in worker threads and never hold up the event loop. /healthz has threads
of its own (:data:`HEALTH_THREADS`): when slow pages hold every thread of the shared pool, the
health check still answers at once.

/metrics is for the operator only: with DIGEST_METRICS_TOKEN set it asks for that bearer
token from anyone; without one it answers only a peer on loopback, judged by the connection
itself (a forwarded header could name any address), and only when no proxy forwarded the
request (a reverse proxy on the same host would otherwise make every visitor local).
"""

from __future__ import annotations

import hmac
import ipaddress

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digest.ops.health import health_report, schema_health
from digest.ops.metrics import CONTENT_TYPE, render_metrics
from digest.service import utcnow
from digest.web.clients import direct_peer
from digest.web.pages import web

HEALTH_THREADS = 4


def _health_threads(request: Request) -> anyio.CapacityLimiter:
    """The health check's own thread limiter, made on first use (it needs the event loop)."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "health_threads", None)
    if limiter is None:
        limiter = request.app.state.health_threads = anyio.CapacityLimiter(HEALTH_THREADS)
    return limiter


async def healthz(request: Request) -> Response:
    """200 when the database answers and its schema is the one the code needs, else 503."""
    db = web(request).service.db
    health = await anyio.to_thread.run_sync(schema_health, db, limiter=_health_threads(request))
    return JSONResponse(health.brief_json(), status_code=200 if health.ok else 503)


def health_detail(request: Request) -> Response:
    """/healthz/detail: the same verdict, with the ages of the last ingest, due tick and sent
    email (seconds, null when never)."""
    health = health_report(web(request).service.db, now=utcnow())
    return JSONResponse(health.as_json(), status_code=200 if health.ok else 503)


FORWARDED_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _local_and_direct(request: Request) -> bool:
    if any(name in request.headers for name in FORWARDED_HEADERS):
        return False
    try:
        return ipaddress.ip_address(direct_peer(request)).is_loopback
    except ValueError:
        return False


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8")
    )


def metrics(request: Request) -> Response:
    """/metrics for Prometheus: the bearer token when one is set, else loopback peers only."""
    token = web(request).service.settings.metrics_token
    if token is not None and not _bearer_matches(request, token):
        return PlainTextResponse(
            "Unauthorized", status_code=401, headers={"www-authenticate": "Bearer"}
        )
    if token is None and not _local_and_direct(request):
        return PlainTextResponse("Not Found", status_code=404)
    service = web(request).service
    body = render_metrics(service.db, policy=service.bounce_policy, now=utcnow)
    return Response(body, media_type=CONTENT_TYPE)


routes = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/healthz/detail", health_detail, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
]
