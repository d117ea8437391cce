"""A Digest becomes the exact bytes that go out: links, render, MIME, DKIM (delivery and preview).

Headers: Message-ID on the sender's domain (deterministic, so a retry keeps it), List-Id,
List-Unsubscribe (https link and mailto) with RFC 8058 one-click, and a Feedback-ID unique to the
message (date, subscriber, kind, domain). With DIGEST_DKIM_KEY_FILE and DIGEST_DKIM_SELECTOR set,
the message is signed for the sender's domain.
"""

from __future__ import annotations

import datetime as dt

from digest.dkim_sign import signer_from_file
from digest.mime import build_message, make_message_id
from digest.models import Digest, OutgoingMessage, RenderedEmail, Subscriber
from digest.service import Service


def digest_message_id(service: Service, subscriber: Subscriber, date: dt.date) -> str:
    """Deterministic per (subscriber, date), so a retry reuses the same Message-ID."""
    return make_message_id(
        service.settings.sender_domain, "digest", str(subscriber.id), date.isoformat()
    )


def feedback_id(digest: Digest, domain: str, kind: str) -> str:
    """'2026-11-24:42:digest:example.org': one value per message, in Gmail's a:b:c:sender form."""
    return f"{digest.date.isoformat()}:{digest.subscriber.id}:{kind}:{domain}"


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
        feedback_id=feedback_id(digest, domain, "nothing" if nothing_matched else "digest"),
    )
    settings = service.settings
    if settings.dkim_key_file and settings.dkim_selector:
        data = signer_from_file(settings.dkim_key_file, settings.dkim_selector, domain).sign(data)
    return rendered, OutgoingMessage(
        sender=service.settings.from_, recipient=subscriber.email, message_id=message_id, data=data
    )
