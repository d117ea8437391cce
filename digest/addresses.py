"""Email addresses: validated and normalised by email-validator, hashed for the suppression list."""

from __future__ import annotations

import hashlib

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
    """Stable hash of an address; lets the suppression list outlive the address itself."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()
