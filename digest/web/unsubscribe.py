"""Unsubscribe in one step: RFC 8058 one-click from mail clients, one button for people.

The signed URL is the whole authority: the one-click POST (``List-Unsubscribe=One-Click``)
comes from a mail provider without cookies, so it needs no CSRF token; the page's own button
carries one like every form. Either way the answer is 200 with a short page, never a redirect.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.store import subscribers
from digest.web.pages import (
    client_ip,
    csrf_failed,
    csrf_ok,
    page,
    rate_limited,
    read_form,
    subscriber_ref,
    verify_link,
    web,
)

log = logging.getLogger(__name__)

ONE_CLICK = ("List-Unsubscribe", "One-Click")


async def unsubscribe(request: Request) -> Response:
    token = request.path_params["token"]
    _, subscriber = verify_link(request, "unsubscribe", token)
    if request.method != "POST":
        return page(request, "unsubscribe.html", token=token, subscriber=subscriber)
    form = await read_form(request)
    one_click = form.get(ONE_CLICK[0]) == ONE_CLICK[1]
    if not one_click and not csrf_ok(request, form):
        return csrf_failed(request)
    if not one_click and (limited := rate_limited(request, "unsubscribe")):
        return limited
    ctx = web(request)
    if subscriber.state != "unsubscribed":
        with ctx.service.db.session() as session:
            row = subscribers.get_row(session, subscriber.email)
            subscribers.set_state(session, row, "unsubscribed", now=ctx.clock())
        how = "one-click" if one_click else "the web page"
        log.info("%s unsubscribed via %s", subscriber_ref(subscriber), how)
    return page(request, "unsubscribed.html", token=token)


async def resubscribe(request: Request) -> Response:
    """The button on the unsubscribed page: the signed link proves the address, so no new email."""
    token = request.path_params["token"]
    _, subscriber = verify_link(request, "unsubscribe", token)
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_failed(request)
    if limited := rate_limited(request, "resubscribe"):
        return limited
    ctx = web(request)
    with ctx.service.db.session() as session:
        row = subscribers.get_row(session, subscriber.email)
        subscribers.set_state(
            session, row, "confirmed", now=ctx.clock(), consent_ip=client_ip(request)
        )
        subscriber = subscribers.to_subscriber(row)
    log.info("%s resubscribed", subscriber_ref(subscriber))
    links = ctx.service.links.for_subscriber(subscriber)
    return page(request, "confirmed.html", links=links, subscriber=subscriber, resubscribed=True)


routes = [
    Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "HEAD", "POST"]),
    Route("/unsubscribe/{token}/resubscribe", resubscribe, methods=["POST"]),
]
