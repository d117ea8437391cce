"""A Digest becomes the exact bytes that go out: links, render, MIME (for delivery and preview)."""

from __future__ import annotations

import datetime as dt

from digest.mime import build_message, make_message_id
from digest.models import Digest, OutgoingMessage, RenderedEmail, Subscriber
from digest.service import Service


def digest_message_id(service: Service, subscriber: Subscriber, date: dt.date) -> str:
    """Deterministic per (subscriber, date), so a retry reuses the same Message-ID."""
    return make_message_id(
        service.settings.sender_domain, "digest", str(subscriber.id), date.isoformat()
    )


def compose_digest(
    service: Service,
    digest: Digest,
    *,
    message_id: str,
    now: dt.datetime,
    nothing_matched: bool = False,
) -> tuple[RenderedEmail, OutgoingMessage]:
    subscriber = digest.subscriber
    links = service.links.for_subscriber(
        subscriber, digest.date, tuple(pick.paper.id for pick in digest.picks)
    )
    if nothing_matched:
        rendered = service.renderer.render_nothing(subscriber, digest.date, links)
    else:
        rendered = service.renderer.render_digest(digest, links)
    domain = service.settings.sender_domain
    data = build_message(
        rendered,
        sender=service.settings.from_,
        recipient=subscriber.email,
        message_id=message_id,
        date=now,
        list_id=f"{service.settings.list_name} <digest.{domain}>",
        unsubscribe_url=links.unsubscribe,
        unsubscribe_mailto=links.unsubscribe_mailto,
        feedback_id=f"{digest.date.isoformat()}:{subscriber.id}:digest:{domain}",
    )
    return rendered, OutgoingMessage(
        sender=service.settings.from_, recipient=subscriber.email, message_id=message_id, data=data
    )
