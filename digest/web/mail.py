"""One account email (confirm, welcome) from the web, through the configured transport.

The digest run sends in batches through :mod:`digest.deliver.send_loop`; the web sends one
message at a time when a person asks for it, with the same MIME builder and the same transports.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from starlette.background import BackgroundTask

from digest.deliver.transport import OutboxDir, SendResult, SmtpPool, Transport
from digest.models import OutgoingMessage, RenderedEmail, Subscriber
from digest.render.compose import feedback_id
from digest.render.headers import make_message_id
from digest.service import Service

log = logging.getLogger(__name__)


def _transport(service: Service) -> Transport:
    target = service.settings.smtp
    if target is None:
        return OutboxDir(service.settings.outbox_dir)
    return SmtpPool(target, size=1, messages_per_connection=1, give_up_after=1)


def account_message(
    service: Service,
    rendered: RenderedEmail,
    recipient: Subscriber,
    *,
    kind: str,
    now: dt.datetime,
) -> OutgoingMessage:
    """The wire bytes of one account email, with the list headers a digest carries too."""
    composer = service.composer
    domain = composer.message.domain
    nonce = secrets.token_hex(8)  # account emails are never retried: every one is new
    message_id = make_message_id(domain, kind, str(recipient.id), now.isoformat(), nonce)
    return composer.outgoing(
        rendered,
        recipient=recipient.email,
        links=composer.links.for_subscriber(recipient),
        message_id=message_id,
        now=now,
        feedback_id=feedback_id(now.date(), recipient.id, kind, domain),
    )


async def send_one(
    service: Service,
    rendered: RenderedEmail,
    recipient: Subscriber,
    *,
    kind: str,
    now: dt.datetime,
) -> SendResult:
    """Send one account email now; the result says what happened (this never raises for SMTP).

    The log names the subscriber by id, never by address.
    """
    message = account_message(service, rendered, recipient, kind=kind, now=now)
    async with _transport(service) as transport:
        result = await transport.send(message)
    if result.outcome == "sent":
        log.info("%s email to subscriber %d: %s", kind, recipient.id, result.outcome)
    else:
        log.warning(
            "%s email to subscriber %d not sent (%s): %s",
            kind,
            recipient.id,
            result.outcome,
            result.detail.replace(recipient.email, "<address>"),
        )
    return result


async def _send_quietly(
    service: Service,
    rendered: RenderedEmail,
    recipient: Subscriber,
    *,
    kind: str,
    now: dt.datetime,
) -> None:
    try:
        await send_one(service, rendered, recipient, kind=kind, now=now)
    except Exception as exc:  # a full disk or a bug: log it without the address, never raise
        log.error("%s email to subscriber %d failed: %s", kind, recipient.id, type(exc).__name__)


def send_in_background(
    service: Service,
    rendered: RenderedEmail,
    recipient: Subscriber,
    *,
    kind: str,
    now: dt.datetime,
) -> BackgroundTask:
    """Send after the response has gone out, so the page takes as long for every address."""
    return BackgroundTask(_send_quietly, service, rendered, recipient, kind=kind, now=now)
