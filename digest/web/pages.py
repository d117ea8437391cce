"""What every page handler shares: the app's context, rendering, CSRF checks, signed links.

Handlers get the :class:`WebContext` from ``request.app.state.web``; nothing here is global.
Pages that read the database are plain ``def`` endpoints (Starlette runs them in its thread
pool); a POST needs ``await request.form()``, so :func:`form_post` reads the form on the event
loop and runs the rest in the thread pool.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.addresses import email_hash
from digest.models import Subscriber
from digest.render.text import format_day, safe_url, shorten_authors
from digest.service import Service
from digest.store import subscribers
from digest.tokens import InvalidToken, TokenClaims
from digest.web.clients import client_ip, network_of
from digest.web.forms import time_zones
from digest.web.limits import Limiter
from digest.web.security import (
    CSRF_FIELD,
    CsrfTokens,
    cookie_options,
    csrf_cookie_name,
    origin_of,
    same_origin,
)

if TYPE_CHECKING:
    from digest.web.ranked import Rankings

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
MAX_TOKEN_CHARS = 400  # our longest link token (a confirm link carrying topics) is far shorter


@dataclass
class WebContext:
    service: Service
    templates: Environment
    csrf: CsrfTokens
    limits: Limiter
    rankings: Rankings
    clock: Callable[[], dt.datetime]
    https: bool
    css_version: str

    @property
    def csrf_cookie(self) -> str:
        return csrf_cookie_name(self.https)


def template_environment(folder: Path) -> Environment:
    """Jinja2 for the web pages: autoescape on for every template, undefined names fail loudly."""
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(day=format_day, safe_url=safe_url, authors=shorten_authors)
    env.globals["time_zones"] = time_zones()
    return env


def css_version(css: str) -> str:
    return hashlib.sha256(css.encode("utf-8")).hexdigest()[:10]


def web(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def log_safe(text: str, limit: int = 200) -> str:
    """Text from a request as a log may print it: control characters escaped, length capped.

    A path or a forwarded address can carry a decoded newline; escaped, it cannot forge a
    second log line or hide the rest of this one.
    """
    escaped = text[:limit].encode("unicode_escape").decode("ascii")
    return escaped + ("…" if len(text) > limit else "")


def rate_limited(request: Request, action: str) -> HTMLResponse | None:
    """The 429 page when this client is over ``action``'s POST limit, else None (and counted)."""
    ctx = web(request)
    if ctx.limits.allow(action, network_of(client_ip(request))):
        return None
    log.warning("%s POST limit reached for %s", action, log_safe(client_ip(request)))
    return too_many_requests(request)


def too_many_requests(request: Request, message: str | None = None) -> HTMLResponse:
    response = error_page(
        request,
        429,
        "Too many requests",
        message
        or "We have had many requests like this from your network in the last hour. Please "
        "wait a while and try again.",
    )
    response.headers["retry-after"] = str(int(web(request).limits.window))
    return response


def _csrf_cookie(request: Request) -> tuple[str, bool]:
    """(the browser's CSRF value, whether it is new and must be set on the response).

    Only a value this server minted is kept: any other is replaced by a fresh one.
    """
    ctx = web(request)
    value = request.cookies.get(ctx.csrf_cookie)
    if value is not None and ctx.csrf.is_minted(value):
        return value, False
    fresh: str | None = getattr(request.state, "csrf_new", None)
    if fresh is None:
        fresh = request.state.csrf_new = ctx.csrf.new_cookie_value()
    return fresh, True


def page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    background: BackgroundTask | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page with the CSRF token its forms need, setting the cookie the first time."""
    ctx = web(request)
    cookie, is_new = _csrf_cookie(request)
    html = ctx.templates.get_template(template).render(
        csrf_field=CSRF_FIELD,
        csrf_token=ctx.csrf.form_token(cookie),
        css_version=ctx.css_version,
        list_name=ctx.service.settings.list_name,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, background=background)
    if is_new:
        response.set_cookie(ctx.csrf_cookie, cookie, **cookie_options(ctx.https))
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", status_code=status_code, title=title, message=message)


async def read_form(
    request: Request, *, max_bytes: int = MAX_FORM_BYTES, max_files: int = 0
) -> FormData:
    """The posted form, refusing oversized bodies before they are parsed. Forms take no files
    unless ``max_files`` says so; the route's ``max_body_size`` must then allow ``max_bytes``."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise FormTooLarge()
    return await request.form(max_files=max_files, max_fields=200, max_part_size=MAX_FORM_BYTES)


class FormTooLarge(Exception):
    """A POST body larger than any form of ours can be."""


def csrf_ok(request: Request, form: FormData) -> bool:
    """The form's token names this browser's cookie, and the POST comes from this site."""
    ctx = web(request)
    token = form.get(CSRF_FIELD)
    if not ctx.csrf.is_valid(
        request.cookies.get(ctx.csrf_cookie), token if isinstance(token, str) else None
    ):
        return False
    own = origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}")
    allowed = {origin_of(ctx.service.settings.base_url), own} - {""}
    return same_origin(request.headers.get("origin"), request.headers.get("referer"), allowed)


def form_refusal(request: Request, form: FormData, action: str) -> HTMLResponse | None:
    """The page refusing a POST whose CSRF token is bad or that is over ``action``'s limit."""
    if not csrf_ok(request, form):
        return csrf_failed(request)
    return rate_limited(request, action)


def csrf_failed(request: Request) -> HTMLResponse:
    return error_page(
        request,
        403,
        "This form has expired",
        "For your safety the form must be sent from this site's page. Go back, reload the page "
        "and send it again.",
    )


Loaded = TypeVar("Loaded")


def form_post(
    action: str,
    load: Callable[[Request], Loaded | Response],
    save: Callable[[Request, Loaded, FormData], Response],
    *,
    exempt: Callable[[FormData], bool] | None = None,
    max_bytes: int = MAX_FORM_BYTES,
    max_files: int = 0,
) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint that keeps the database off the event loop.

    ``load`` (verify the signed link, read what the page is about; a Response ends there) runs
    in the thread pool, the form is read and checked here (CSRF, then ``action``'s rate limit,
    unless ``exempt`` says this form needs neither), and ``save`` runs in the thread pool.
    ``max_bytes`` and ``max_files`` are :func:`read_form`'s.
    """

    async def endpoint(request: Request) -> Response:
        loaded = await run_in_threadpool(load, request)
        if isinstance(loaded, Response):
            return loaded
        form = await read_form(request, max_bytes=max_bytes, max_files=max_files)
        if not (exempt and exempt(form)) and (refused := form_refusal(request, form, action)):
            return refused
        return await run_in_threadpool(save, request, loaded, form)

    return endpoint


class LinkRejected(Exception):
    """A signed link that cannot be used: the reason is fit to show the person who clicked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedLink:
    """A verified link from one of our emails: its token (the page's own URLs reuse it), what
    it was signed with, and the subscriber it names."""

    token: str
    claims: TokenClaims
    subscriber: Subscriber


def verify_link(request: Request, purpose: str) -> SignedLink:
    """The link in the path's ``{token}``, or :class:`LinkRejected` (the app shows the
    bad-link page). It must be signed for ``purpose``, within its lifetime, and name a
    subscriber whose address is still the one it was sent to. Reads the database: call it
    from a ``def`` endpoint or through the thread pool.
    """
    service = web(request).service
    token = request.path_params["token"]
    if len(token) > MAX_TOKEN_CHARS:
        raise LinkRejected("this link is not valid")
    try:
        claims = service.signer.verify(purpose, token)
    except InvalidToken as exc:
        raise LinkRejected(exc.reason) from None
    with service.db.session() as session:
        subscriber = subscribers.get_subscriber_by_id(session, claims.subscriber_id)
    if subscriber is None or email_hash(subscriber.email)[:16] != claims.email_hash:
        raise LinkRejected("this link belongs to a subscription that no longer exists")
    return SignedLink(token, claims, subscriber)


def link_rejected_page(request: Request, exc: LinkRejected) -> HTMLResponse:
    return error_page(
        request,
        400,
        "This link cannot be used",
        f"Sorry: {exc.reason}. Links in our emails expire after a while; the newest email "
        "we sent you has fresh ones, or you can subscribe again from the home page.",
    )


def subscriber_ref(subscriber: Subscriber) -> str:
    """How logs name a subscriber: by id, never by address."""
    return f"subscriber {subscriber.id}"
