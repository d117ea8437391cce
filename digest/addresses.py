"""Email addresses: validated and normalised by email-validator, hashed for the suppression list."""

from __future__ import annotations

import functools
import hashlib
import hmac

from email_validator import EmailNotValidError, validate_email

from digest.errors import InvalidEmail


def normalize_email(address: str) -> str:
    """The canonical form we store, or InvalidEmail with the validator's reason.

    The whole address is lowercased: RFC 5321 lets a local part be case-sensitive, but no
    mailbox provider treats it so, and two rows for Ada@ and ada@ would mail one person twice.
    """
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"invalid email address {address.strip()!r}: {exc}") from None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local.lower()}@{domain.lower()}"


def email_hash(address: str) -> str:
    """Bare SHA-256 of an address: what links carry, and what old suppression rows hold.

    Anyone can compute it for a guessed address, so new suppression rows use
    :func:`keyed_email_hash` instead.
    """
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def suppression_key(secret: str) -> bytes:
    """The key the suppression list is hashed with, derived from the service's secret so the
    secret itself is never used for two purposes."""
    return hmac.digest(secret.encode(), b"digest.suppression", "sha256")


def keyed_email_hash(address: str, key: bytes) -> str:
    """HMAC-SHA256 of an address: a leaked table does not say whether a guessed address was
    ever ours, unless the key (kept outside the database when configured) leaks too."""
    return hmac.digest(key, address.strip().lower().encode(), "sha256").hex()
