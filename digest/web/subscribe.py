"""Sign-up with double opt-in: the form, the "check your inbox" page, the confirm button.

Whatever address is entered, the answer is the same page, so the form never tells anyone who
is subscribed. What differs happens only in the mailbox of the address itself.
"""

from __future__ import annotations

import datetime as dt
import logging

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.addresses import normalize_email
from digest.errors import InvalidEmail
from digest.models import RenderedEmail, Subscriber, Topic
from digest.service import Service
from digest.store import subscribers
from digest.web.clients import network_of
from digest.web.forms import FormError, field_text, parse_timezone, parse_topics, topic_lines
from digest.web.mail import send_in_background
from digest.web.pages import (
    LinkRejected,
    SignedLink,
    client_ip,
    csrf_failed,
    csrf_ok,
    form_post,
    log_safe,
    page,
    read_form,
    subscriber_ref,
    too_many_requests,
    verify_link,
    web,
)

log = logging.getLogger(__name__)

HONEYPOT = "website"
TOO_MANY_SIGNUPS = (
    "We have had many sign-up requests from you or for this address in the last hour. "
    "Please wait an hour and try again; any email we already sent stays valid."
)
MAILS_SENT = (
    "We have already sent this address several emails today. Please use the newest one, or "
    "try again tomorrow."
)
BAD_ADDRESS = "that does not look like an email address; please check it and try again"
NO_TOPICS_TRENDING = 1.0  # nothing to match yet: send what everyone is reading


def _topic_strings(topics: tuple[Topic, ...]) -> list[str]:
    return topic_lines(topics).splitlines()


def prepare_signup_email(
    service: Service,
    address: str,
    topics: tuple[Topic, ...],
    *,
    now: dt.datetime,
    timezone: str | None = None,
) -> tuple[RenderedEmail, Subscriber, str]:
    """Record the request and choose the one email it earns: (rendered, recipient, kind).

    A new or unconfirmed address stores the topics and gets the confirm link. An unsubscribed
    or suspended one keeps its row untouched until it confirms; the topics (and the time zone
    the browser reported) ride in the signed link. A confirmed one is not downgraded: it gets
    its manage link instead, and keeps its schedule.
    """
    carry: list[str] | None = None
    carry_zone: str | None = None
    schedule = {"timezone": timezone} if timezone else None
    with service.db.session() as session:
        row = subscribers.find_row(session, address)
        if row is None or row.state == "unconfirmed":
            changes: dict[str, object] = {"topics": topics} if topics else {}
            if row is None and not topics:
                changes["trending"] = NO_TOPICS_TRENDING
            row, _ = subscribers.upsert_subscriber(
                session, address, now=now, profile_changes=changes or None, schedule=schedule
            )
        elif row.state != "confirmed":
            carry = _topic_strings(topics) if topics else None
            carry_zone = timezone
        subscriber = subscribers.to_subscriber(row)
    if subscriber.state == "confirmed":
        links = service.links.for_subscriber(subscriber)
        return service.renderer.render_welcome(subscriber, links), subscriber, "manage-link"
    extra: dict[str, object] = {"t": carry} if carry else {}
    if carry_zone:
        extra["z"] = carry_zone
    token = service.signer.sign("confirm", subscriber.id, subscriber.email, **extra)
    url = f"{service.links.base_url}/confirm/{token}"
    shown = [t.text for t in (topics or subscriber.profile.topics)]
    return service.renderer.render_confirm(subscriber.email, url, shown), subscriber, "confirm"


def _form_page(
    request: Request, *, email: str, topics: str, error: FormError | None, timezone: str = "UTC"
) -> Response:
    return page(
        request,
        "subscribe.html",
        status_code=400 if error else 200,
        email=email,
        topics=topics,
        timezone=timezone,
        error=error,
        honeypot=HONEYPOT,
    )


async def subscribe_form(request: Request) -> Response:
    return _form_page(request, email="", topics="", error=None)


async def subscribe(request: Request) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_failed(request)
    return await run_in_threadpool(_sign_up, request, form)


def _sign_up(request: Request, form: FormData) -> Response:
    ctx = web(request)
    email_text, topics_text = field_text(form, "email", 320), field_text(form, "topics")
    zone_text = field_text(form, "timezone", 64)
    shown = {"email": email_text, "topics": topics_text, "timezone": zone_text.strip() or "UTC"}
    if field_text(form, HONEYPOT).strip():
        log.info(
            "sign-up with the honeypot field filled from %s: ignored", log_safe(client_ip(request))
        )
        return page(request, "check_inbox.html")
    try:
        address = normalize_email(email_text)
        topics = parse_topics(topics_text)
        timezone = parse_timezone(zone_text)
    except InvalidEmail:
        return _form_page(request, error=FormError("email", BAD_ADDRESS), **shown)
    except FormError as exc:
        return _form_page(request, error=exc, **shown)
    refused = ctx.limits.refuse_signup(network_of(client_ip(request)), address)
    if refused is not None:
        return too_many_requests(request, MAILS_SENT if refused.mails else TOO_MANY_SIGNUPS)
    now = ctx.clock()
    rendered, recipient, kind = prepare_signup_email(
        ctx.service, address, topics, now=now, timezone=timezone
    )
    log.info("sign-up request for %s: sending %s email", subscriber_ref(recipient), kind)
    task = send_in_background(ctx.service, rendered, recipient, kind=kind, now=now)
    return page(request, "check_inbox.html", background=task)


def confirm_link(request: Request) -> SignedLink:
    """The confirm link in the path, unless the address unsubscribed after it was sent.

    Otherwise a confirm email still lying in the mailbox (or read by someone else) would
    subscribe the address again against its owner's latest word. Token stamps are whole
    seconds: a link signed in the second of the unsubscribe still counts as after it.
    """
    link = verify_link(request, "confirm")
    with web(request).service.db.session() as session:
        left = subscribers.get_row(session, link.subscriber.email).unsubscribed_at
    issued = link.claims.issued_at
    if left is not None and (issued is None or issued < left.replace(microsecond=0)):
        raise LinkRejected("you unsubscribed after this link was sent")
    return link


def ask_confirm(request: Request) -> Response:
    """GET shows one button: mail scanners follow links, people press buttons."""
    link = confirm_link(request)
    topics = link.claims.extra.get("t")
    return page(request, "confirm.html", subscriber=link.subscriber, topics=topics)


def _confirm(request: Request, link: SignedLink, form: FormData) -> Response:
    ctx = web(request)
    service, now, subscriber = ctx.service, ctx.clock(), link.subscriber
    carried, zone = link.claims.extra.get("t"), link.claims.extra.get("z")
    already = subscriber.state == "confirmed" and not carried
    if not already:
        with service.db.session() as session:
            row = subscribers.get_row(session, subscriber.email)
            if isinstance(carried, list):
                topics = parse_topics("\n".join(str(t) for t in carried))
                subscribers.upsert_subscriber(
                    session, row.email, now=now, profile_changes={"topics": topics}
                )
            if isinstance(zone, str):
                schedule = {"timezone": parse_timezone(zone)}
                subscribers.upsert_subscriber(session, row.email, now=now, schedule=schedule)
            subscribers.set_state(session, row, "confirmed", now=now, consent_ip=client_ip(request))
            subscriber = subscribers.to_subscriber(row)
        log.info("%s confirmed", subscriber_ref(subscriber))
    links = service.links.for_subscriber(subscriber)
    task = None
    if not already:
        welcome = service.renderer.render_welcome(subscriber, links)
        task = send_in_background(service, welcome, subscriber, kind="welcome", now=now)
    return page(request, "confirmed.html", links=links, subscriber=subscriber, background=task)


routes = [
    Route("/subscribe", subscribe_form, methods=["GET", "HEAD"]),
    Route("/subscribe", subscribe, methods=["POST"]),
    Route("/confirm/{token}", ask_confirm, methods=["GET", "HEAD"]),
    Route(
        "/confirm/{token}",
        form_post("confirm", confirm_link, _confirm),
        methods=["POST"],
    ),
]
