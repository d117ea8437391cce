"""Unsubscribe in one step: RFC 8058 one-click from mail clients, one button for people, and
beside it the two things people often want instead: a weekly digest, or a pause.

The signed URL is the whole authority: the one-click POST (``List-Unsubscribe=One-Click``)
comes from a mail provider without cookies, so it needs no CSRF token; the page's own button
carries one like every form. Either way the answer is 200 with a short page, never a redirect.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from functools import partial

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.store import subscribers
from digest.web.pages import (
    LinkRejected,
    SignedLink,
    client_ip,
    form_post,
    page,
    subscriber_ref,
    verify_link,
    web,
)

log = logging.getLogger(__name__)

ONE_CLICK = ("List-Unsubscribe", "One-Click")
UNDO_WINDOW = dt.timedelta(hours=1)
PAUSE = dt.timedelta(weeks=4)


def ask_unsubscribe(request: Request) -> Response:
    link = verify_link(request, "unsubscribe")
    ctx = web(request)
    return page(
        request,
        "unsubscribe.html",
        token=link.token,
        subscriber=link.subscriber,
        weekday=calendar.day_name[link.subscriber.weekday % 7],
        pause_until=ctx.clock().date() + PAUSE,
        manage_url=ctx.service.links.for_subscriber(link.subscriber).manage,
    )


def is_one_click(form: FormData) -> bool:
    """An RFC 8058 POST from a mail provider: no cookie, so neither CSRF nor per-client limits."""
    return form.get(ONE_CLICK[0]) == ONE_CLICK[1]


def _unsubscribe(request: Request, link: SignedLink, form: FormData) -> Response:
    ctx = web(request)
    subscriber = link.subscriber
    if subscriber.state != "unsubscribed":
        with ctx.service.db.session() as session:
            row = subscribers.get_row(session, subscriber.email)
            subscribers.set_state(session, row, "unsubscribed", now=ctx.clock())
        how = "one-click" if is_one_click(form) else "the web page"
        log.info("%s unsubscribed via %s", subscriber_ref(subscriber), how)
    return page(request, "unsubscribed.html", token=link.token)


def _resubscribe(request: Request, link: SignedLink, form: FormData) -> Response:
    """The button on the unsubscribed page: the signed link proves the address, so no new email.

    It is an undo, good for :data:`UNDO_WINDOW` after the unsubscribe: the same link is in
    every digest ever sent, and an old one (forwarded, or read by someone else) must not
    subscribe the address again against its owner's latest word.
    """
    ctx = web(request)
    with ctx.service.db.session() as session:
        row = subscribers.get_row(session, link.subscriber.email)
        left = row.unsubscribed_at if row.state == "unsubscribed" else None
        if left is not None and ctx.clock() - left > UNDO_WINDOW:
            raise LinkRejected("you unsubscribed a while ago, so this button no longer works")
        subscribers.set_state(
            session, row, "confirmed", now=ctx.clock(), consent_ip=client_ip(request)
        )
        subscriber = subscribers.to_subscriber(row)
    log.info("%s resubscribed", subscriber_ref(subscriber))
    links = ctx.service.links.for_subscriber(subscriber)
    return page(request, "confirmed.html", links=links, subscriber=subscriber, resubscribed=True)


def _less_often(request: Request, link: SignedLink, form: FormData, *, choice: str) -> Response:
    """ "Weekly instead" or "pause for four weeks": the schedule changes, the subscription stays."""
    ctx, subscriber = web(request), link.subscriber
    if subscriber.state != "confirmed":
        raise LinkRejected("this subscription is not active, so there is nothing to change")
    today = ctx.clock().date()
    schedule = {"frequency": "weekly"} if choice == "weekly" else {"paused_until": today + PAUSE}
    with ctx.service.db.session() as session:
        row, _ = subscribers.upsert_subscriber(
            session, subscriber.email, now=ctx.clock(), schedule=schedule
        )
        subscriber, paused_until = subscribers.to_subscriber(row), row.paused_until
    log.info("%s chose %s on the unsubscribe page", subscriber_ref(subscriber), choice)
    return page(
        request,
        "less_often.html",
        subscriber=subscriber,
        choice=choice,
        weekday=calendar.day_name[subscriber.weekday % 7],
        paused_until=paused_until,
        manage_url=ctx.service.links.for_subscriber(subscriber).manage,
    )


_unsubscribe_link = partial(verify_link, purpose="unsubscribe")

routes = [
    Route("/unsubscribe/{token}", ask_unsubscribe, methods=["GET", "HEAD"]),
    Route(
        "/unsubscribe/{token}",
        form_post("unsubscribe", _unsubscribe_link, _unsubscribe, exempt=is_one_click),
        methods=["POST"],
    ),
    *(
        Route(
            f"/unsubscribe/{{token}}/{choice}",
            form_post("manage", _unsubscribe_link, partial(_less_often, choice=choice)),
            methods=["POST"],
        )
        for choice in ("weekly", "pause")
    ),
    Route(
        "/unsubscribe/{token}/resubscribe",
        form_post("resubscribe", _unsubscribe_link, _resubscribe),
        methods=["POST"],
    ),
]
