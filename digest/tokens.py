"""Signed links (itsdangerous), one salt and one lifetime per purpose.

A token names the subscriber by id and by a hash of the address, so a link keeps working only
for the address it was sent to, and a token minted for one purpose never opens another.
A feed link never expires (a feed reader cannot follow a new email's links): it carries the
subscriber's feed generation instead, and making a new one on the manage page ends the old.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from digest.addresses import email_hash
from digest.models import Links, Subscriber

DAY = 24 * 3600
LIFETIMES: dict[str, int | None] = {  # None: no expiry
    "confirm": 3 * DAY,
    "manage": 180 * DAY,
    "unsubscribe": 365 * DAY,
    "feedback": 90 * DAY,
    "archive": 365 * DAY,
    "feed": None,
}


class InvalidToken(Exception):
    """A link that was tampered with, expired, or minted for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExpiredToken(InvalidToken):
    """A genuine link past its lifetime (a feed says so rather than just failing)."""


@dataclass(frozen=True)
class TokenClaims:
    subscriber_id: int
    email_hash: str
    extra: dict[str, Any]
    issued_at: dt.datetime | None = None  # when it was signed (whole seconds, UTC)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class Signer:
    """Mints and checks tokens in itsdangerous' URLSafeTimedSerializer format.

    Minting is done here with :mod:`hmac` and a key derived once per purpose, because
    itsdangerous derives the key again for every token, and every email carries four.
    Verification stays with itsdangerous, so every token minted here is one it would have
    minted itself (uncompressed payload, the same key).
    """

    def __init__(self, secret_key: str) -> None:
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"digest.{purpose}")
            for purpose in LIFETIMES
        }
        self._keys = {
            purpose: serializer.make_signer(serializer.salt).derive_key()
            for purpose, serializer in self._serializers.items()
        }
        self._compact = json.JSONEncoder(separators=(",", ":"))

    def sign(self, purpose: str, subscriber_id: int, email: str, **extra: Any) -> str:
        payload = {"s": subscriber_id, "h": email_hash(email)[:16], **extra}
        return self.sign_payload(purpose, payload, int(time.time()))

    def sign_payload(self, purpose: str, payload: dict[str, Any], timestamp: int) -> str:
        """One token for ``payload``, stamped ``timestamp`` (seconds since the epoch)."""
        return self.sign_json(purpose, self.encode(payload), self.stamp(timestamp))

    def encode(self, payload: dict[str, Any]) -> bytes:
        """The payload's JSON exactly as itsdangerous writes it (compact separators)."""
        return self._compact.encode(payload).encode()

    @staticmethod
    def stamp(timestamp: int) -> bytes:
        return _b64(timestamp.to_bytes((timestamp.bit_length() + 7) // 8 or 1, "big"))

    def sign_json(self, purpose: str, payload_json: bytes, stamp: bytes) -> str:
        """A token for an already-encoded payload and :meth:`stamp` (many links, one stamp)."""
        value = _b64(payload_json) + b"." + stamp
        return (value + b"." + _b64(hmac.digest(self._keys[purpose], value, "sha1"))).decode()

    def verify(self, purpose: str, token: str) -> TokenClaims:
        serializer = self._serializers[purpose]
        try:
            payload, issued_at = serializer.loads(
                token, max_age=LIFETIMES[purpose], return_timestamp=True
            )
        except SignatureExpired:
            raise ExpiredToken("this link has expired") from None
        except BadSignature:
            raise InvalidToken("this link is not valid") from None
        extra = {k: v for k, v in payload.items() if k not in ("s", "h")}
        return TokenClaims(
            subscriber_id=int(payload["s"]),
            email_hash=payload["h"],
            extra=extra,
            issued_at=issued_at,
        )


@dataclass(frozen=True)
class LinkTokens:
    """The signed tokens behind one email's links (one per purpose)."""

    manage: str
    unsubscribe: str
    archive: str
    feedback: str  # one per email: the paper and the direction are in the URL's path


class LinkBuilder:
    """Absolute URLs on DIGEST_BASE_URL for everything an email links to."""

    def __init__(self, signer: Signer, base_url: str, sender: str) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")
        self.sender = sender

    def confirm_url(self, subscriber_id: int, email: str) -> str:
        return f"{self.base_url}/confirm/{self.signer.sign('confirm', subscriber_id, email)}"

    def feed_url(self, subscriber: Subscriber, generation: int) -> str:
        """The Atom feed link carrying ``generation`` (the subscriber's current one)."""
        token = self.signer.sign("feed", subscriber.id, subscriber.email, g=generation)
        return f"{self.base_url}/archive/{token}/feed.atom"

    def tokens_for(self, subscriber: Subscriber) -> LinkTokens:
        signer, stamp = self.signer, self.signer.stamp(int(time.time()))
        who_json = signer.encode({"s": subscriber.id, "h": email_hash(subscriber.email)[:16]})
        return LinkTokens(
            *(signer.sign_json(p, who_json, stamp) for p in LinkTokens.__dataclass_fields__)
        )

    def for_subscriber(
        self, subscriber: Subscriber, date: dt.date | None = None, paper_ids: tuple[int, ...] = ()
    ) -> Links:
        return self.links_from(self.tokens_for(subscriber), date, paper_ids)

    def links_from(
        self, tokens: LinkTokens, date: dt.date | None = None, paper_ids: tuple[int, ...] = ()
    ) -> Links:
        """The URLs built on ``tokens`` (real ones, or placeholders to substitute later)."""
        archive = f"{self.base_url}/archive/{tokens.archive}"
        if date is not None:
            archive += f"/{date.isoformat()}"
        feedback_url = f"{self.base_url}/feedback/{tokens.feedback}/"
        feedback = {
            pid: (f"{feedback_url}{pid}/more", f"{feedback_url}{pid}/less") for pid in paper_ids
        }
        return Links(
            manage=f"{self.base_url}/manage/{tokens.manage}",
            unsubscribe=f"{self.base_url}/unsubscribe/{tokens.unsubscribe}",
            unsubscribe_mailto=f"mailto:{self.sender}?subject=unsubscribe%20{tokens.unsubscribe}",
            archive=archive,
            feedback=feedback,
        )
