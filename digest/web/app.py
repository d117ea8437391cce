"""create_app(service) → the Starlette app: routes by page, security on every response.

Handlers call the same store and pipeline functions as the CLI. The rate-limit counters are
in the database, shared by every replica; the app holds only its ranking caches.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.deliver.sns import UrlRule
from digest.resources import templates_dir
from digest.service import Service, utcnow
from digest.web import (
    account,
    archive,
    health,
    home,
    links,
    manage,
    subscribe,
    topics,
    unsubscribe,
    webhooks,
)
from digest.web.clients import ClientAddressMiddleware
from digest.web.limits import Limiter, RateLimits
from digest.web.pages import (
    MAX_FORM_BYTES,
    FormTooLarge,
    LinkRejected,
    WebContext,
    css_version,
    error_page,
    link_rejected_page,
    log_safe,
    template_environment,
    web,
)
from digest.web.ranked import RankingBusy, Rankings, busy_page
from digest.web.security import CsrfTokens, SecurityHeadersMiddleware, security_headers

log = logging.getLogger(__name__)

SERVER_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Something went wrong</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="page"><h1>Something went wrong</h1>
<p>Sorry, we could not finish that. Nothing you did caused it; please try again in a few
minutes.</p><p><a href="/">Back to the home page</a></p></main></body></html>
"""


async def not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_page(request, 405, "Not here", "This page cannot be used that way.")
    if exc.status_code != 404:
        return error_page(request, exc.status_code, "Sorry", str(exc.detail))
    return error_page(request, 404, "Page not found", "There is no page at this address.")


async def rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LinkRejected)
    return link_rejected_page(request, exc)


async def too_large(request: Request, exc: Exception) -> Response:
    return error_page(request, 413, "Too much", "That form was larger than any of ours.")


async def server_error(request: Request, exc: Exception) -> Response:
    """Outside every middleware: a fixed page (no traceback), headers set here."""
    path = log_safe(request.url.path)
    log.error("error on %s %s: %s", log_safe(request.method), path, type(exc).__name__)
    headers = security_headers(web(request).https)
    return HTMLResponse(SERVER_ERROR_PAGE, status_code=500, headers=headers)


ROUTES = [
    *home.routes,
    *topics.routes,
    *subscribe.routes,
    *manage.routes,
    *account.routes,
    *unsubscribe.routes,
    *links.routes,
    *archive.routes,
    *health.routes,
    *webhooks.routes,
]


def create_app(
    service: Service,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    limits: RateLimits | None = None,
    sns_urls: UrlRule | None = None,
) -> Starlette:
    """The web app for ``service``; ``clock``, ``limits`` and ``sns_urls`` (where SNS
    certificates may come from) are for tests and tuning."""
    settings = service.settings
    folder = templates_dir() / "web"
    css = (folder / "style.css").read_text("utf-8")
    https = settings.base_url.startswith("https://")
    secret = service.secret
    app = Starlette(
        debug=False,
        routes=ROUTES,
        middleware=[
            Middleware(ClientAddressMiddleware, trusted=settings.trusted_proxy_networks),
            Middleware(SecurityHeadersMiddleware, headers=security_headers(https)),
        ],
        exception_handlers={
            HTTPException: not_found,
            LinkRejected: rejected,
            FormTooLarge: too_large,
            RankingBusy: busy_page,
            500: server_error,
        },
        max_body_size=MAX_FORM_BYTES,
    )
    app.state.css = css
    app.state.webhooks = webhooks.Webhooks.from_settings(settings, sns_urls)
    app.state.timezone_js = (folder / "timezone.js").read_text("utf-8")
    app.state.web = WebContext(
        service=service,
        templates=template_environment(folder),
        csrf=CsrfTokens(secret),
        limits=Limiter(limits or RateLimits.from_settings(settings), service.db, secret, clock),
        rankings=Rankings(),
        clock=clock,
        https=https,
        css_version=css_version(css),
    )
    return app
