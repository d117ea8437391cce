"""A confirmation email asked for outside the site: `digest subscribers add` without --confirmed.

The same email a sign-up sends, through the same transport, counted against the same daily
allowance per mailbox, so no path mails an address more than the site would.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from digest.service import Service
from digest.web.limits import Limiter, RateLimits
from digest.web.mail import send_one
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
