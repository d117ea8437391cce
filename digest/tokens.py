"""Signed links (itsdangerous), one salt and one lifetime per purpose.

A token names the subscriber by id and by a hash of the address, so a link keeps working only
for the address it was sent to, and a token minted for one purpose never opens another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from digest.addresses import email_hash
from digest.models import Links, Subscriber

DAY = 24 * 3600
LIFETIMES: dict[str, int] = {
    "confirm": 3 * DAY,
    "manage": 180 * DAY,
    "unsubscribe": 365 * DAY,
    "feedback": 90 * DAY,
    "archive": 365 * DAY,
}


class InvalidToken(Exception):
    """A link that was tampered with, expired, or minted for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    subscriber_id: int
    email_hash: str
    extra: dict[str, Any]


class Signer:
    def __init__(self, secret_key: str) -> None:
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"digest.{purpose}")
            for purpose in LIFETIMES
        }

    def sign(self, purpose: str, subscriber_id: int, email: str, **extra: Any) -> str:
        payload = {"s": subscriber_id, "h": email_hash(email)[:16], **extra}
        return str(self._serializers[purpose].dumps(payload))

    def verify(self, purpose: str, token: str) -> TokenClaims:
        serializer = self._serializers[purpose]
        try:
            payload = serializer.loads(token, max_age=LIFETIMES[purpose])
        except SignatureExpired:
            raise InvalidToken("this link has expired") from None
        except BadSignature:
            raise InvalidToken("this link is not valid") from None
        extra = {k: v for k, v in payload.items() if k not in ("s", "h")}
        return TokenClaims(subscriber_id=int(payload["s"]), email_hash=payload["h"], extra=extra)


class LinkBuilder:
    """Absolute URLs on DIGEST_BASE_URL for everything an email links to."""

    def __init__(self, signer: Signer, base_url: str, sender: str) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")
        self.sender = sender

    def confirm_url(self, subscriber_id: int, email: str) -> str:
        return f"{self.base_url}/confirm/{self.signer.sign('confirm', subscriber_id, email)}"

    def for_subscriber(
        self, subscriber: Subscriber, date: dt.date | None = None, paper_ids: tuple[int, ...] = ()
    ) -> Links:
        sid, email = subscriber.id, subscriber.email
        archive = f"{self.base_url}/archive/{self.signer.sign('archive', sid, email)}"
        if date is not None:
            archive += f"/{date.isoformat()}"
        feedback = {
            pid: (
                f"{self.base_url}/feedback/"
                f"{self.signer.sign('feedback', sid, email, p=pid, d='more')}",
                f"{self.base_url}/feedback/"
                f"{self.signer.sign('feedback', sid, email, p=pid, d='less')}",
            )
            for pid in paper_ids
        }
        unsubscribe_token = self.signer.sign("unsubscribe", sid, email)
        return Links(
            manage=f"{self.base_url}/manage/{self.signer.sign('manage', sid, email)}",
            unsubscribe=f"{self.base_url}/unsubscribe/{unsubscribe_token}",
            unsubscribe_mailto=f"mailto:{self.sender}?subject=unsubscribe%20{unsubscribe_token}",
            archive=archive,
            feedback=feedback,
        )
