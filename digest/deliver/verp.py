"""VERP: each message's envelope sender names its delivery, signed so it cannot be forged.

A digest goes out with ``MAIL FROM:<bounces+<id>-<mac>@<bounce domain>>``. A report that comes
back later (a DSN to the envelope sender, a complaint quoting Return-Path) then identifies the
delivery, and so the subscriber, without guessing from the body. ``<id>`` is the delivery's row
id in base 36; ``<mac>`` is 10 base-32 characters (50 bits) of HMAC-SHA256 over it, keyed with a
key derived from the service's secret. Both alphabets are lower case and are read case-blind,
since some MTAs lowercase (or uppercase) local parts on the way.

Changing DIGEST_SECRET_KEY makes the signed ids of messages sent before unreadable: their
late reports are kept as "forged" and change nothing.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass

PREFIX = "bounces"
MAC_CHARS = 10
# A signed id wherever it appears: the local part of an address, an ENVID, a header's text.
SIGNED_ID = re.compile(rf"\b{PREFIX}\+([0-9a-z]{{1,13}}-[a-z2-7]{{{MAC_CHARS}}})\b", re.IGNORECASE)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def verp_key(secret: str) -> bytes:
    """The signing key for envelope senders, derived so the secret serves one purpose each."""
    return hmac.digest(secret.encode(), b"digest.verp", "sha256")


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if not number:
            return digits


def find_signed_ids(text: str) -> list[str]:
    """Every ``<id>-<mac>`` found after ``bounces+`` in ``text``, lowercased, first one first."""
    found: list[str] = []
    for match in SIGNED_ID.finditer(text):
        signed = match.group(1).lower()
        if signed not in found:
            found.append(signed)
    return found


@dataclass(frozen=True)
class Verp:
    """Mints and checks the signed envelope senders of one deployment."""

    key: bytes
    domain: str

    @classmethod
    def from_secret(cls, secret: str, domain: str) -> Verp:
        return cls(key=verp_key(secret), domain=domain.lower())

    def _mac(self, id36: str) -> str:
        digest = hmac.digest(self.key, b"delivery:" + id36.encode("ascii"), "sha256")
        return base64.b32encode(digest).decode("ascii").lower()[:MAC_CHARS]

    def signed_id(self, delivery_id: int) -> str:
        if delivery_id < 0:
            raise ValueError("a delivery id is never negative")
        id36 = _base36(delivery_id)
        return f"{id36}-{self._mac(id36)}"

    def address(self, delivery_id: int) -> str:
        """The envelope sender for the delivery: ``bounces+<id>-<mac>@<domain>``."""
        return f"{PREFIX}+{self.signed_id(delivery_id)}@{self.domain}"

    def delivery_id(self, signed: str) -> int | None:
        """The delivery a signed id names, or None when its signature does not match."""
        id36, dash, mac = signed.strip().lower().partition("-")
        if not dash or not id36 or len(id36) > 13 or not set(id36) <= set(_BASE36):
            return None
        if not hmac.compare_digest(self._mac(id36), mac):
            return None
        return int(id36, 36)
