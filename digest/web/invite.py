"""A confirmation email asked for outside the site: `digest subscribers add` without --confirmed.

The same email a sign-up sends, through the same transport, counted against the same daily
allowance per mailbox, so no path mails an address more than the site would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from digest.deliver.transport import SendResult, transport_for
from digest.models import OutgoingMessage, Subscriber
from digest.service import Service
from digest.web.limits import Limiter, RateLimits
from digest.web.mail import account_message, send_one
from digest.web.subscribe import prepare_signup_email


def send_confirmation(service: Service, address: str, *, now: dt.datetime) -> str:
    """Send ``address`` its confirm link; returns one line saying what happened."""
    limits = RateLimits.from_settings(service.settings)
    if not Limiter(limits, service.db, service.secret, lambda: now).allow_account_mail(address):
        return (
            f"no confirmation email sent: {address} had its {limits.mails_per_day} account"
            " emails today; try tomorrow, or add --confirmed if they already agreed"
        )
    rendered, recipient, kind = prepare_signup_email(service, address, (), now=now)
    result = asyncio.run(send_one(service, rendered, recipient, kind=kind, now=now))
    if result.outcome != "sent":
        return f"no confirmation email sent ({result.outcome}): {result.detail}"
    where = "" if service.settings.smtp else f" (written to {service.settings.outbox_dir})"
    return f"confirmation email sent{where}: {address} is subscribed once they follow its link"


@dataclass
class Confirmations:
    """What became of the confirmation emails of an import."""

    sent: int = 0
    over_allowance: int = 0
    failed: list[str] = field(default_factory=list)  # "address: outcome detail"


def send_confirmations(
    service: Service, recipients: Sequence[Subscriber], *, now: dt.datetime
) -> Confirmations:
    """Each unconfirmed recipient's confirm email, as a sign-up sends it and against the same
    daily allowance, through one transport for all of them (a pool of reused connections)."""
    report = Confirmations()
    limits = RateLimits.from_settings(service.settings)
    limiter = Limiter(limits, service.db, service.secret, lambda: now)
    messages: list[OutgoingMessage] = []
    allowed = limiter.allow_account_mails([subscriber.email for subscriber in recipients])
    for subscriber, room in zip(recipients, allowed, strict=True):
        if not room:
            report.over_allowance += 1
            continue
        token = service.signer.sign("confirm", subscriber.id, subscriber.email)
        url = f"{service.links.base_url}/confirm/{token}"
        topics = [t.text for t in subscriber.profile.topics]
        rendered = service.renderer.render_confirm(subscriber.email, url, topics)
        messages.append(account_message(service, rendered, subscriber, kind="confirm", now=now))

    def counted(result: SendResult) -> None:
        if result.outcome == "sent":
            report.sent += 1
        else:
            report.failed.append(f"{result.recipient}: {result.outcome} {result.detail}")

    async def send_all() -> None:
        async with transport_for(service.settings) as transport:
            await transport.send_many(messages, on_result=counted)

    if messages:
        asyncio.run(send_all())
    return report
