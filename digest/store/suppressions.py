"""The suppression list: addresses never to mail again, kept only as keyed hashes.

A row outlives the subscriber it came from (unsubscribed, suspended, deleted), so it must not
give the address away: it holds HMAC-SHA256 of the address, keyed with the service's secret
(DIGEST_SECRET_KEY, or the key kept in the database when none is configured). Rows written
before that hold a bare SHA-256 ("sha256" scheme); they cannot be re-keyed without the
address, so they are still honoured, and re-keyed when the address is suppressed again.

Changing DIGEST_SECRET_KEY changes the key: rows hashed with the old one stop matching.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from digest.addresses import email_hash, keyed_email_hash, suppression_key
from digest.store.db import new_secret_key
from digest.store.schema import KeyValue, Suppression

KEYED = "hmac"
LEGACY = "sha256"


def _key(session: Session) -> bytes:
    """The suppression key for this database: from the configured secret, else the stored one."""
    secret = session.info.get("secret_key")
    if not secret:
        row = session.get(KeyValue, "secret_key")
        if row is None:  # the same key Database.secret_key would create for signed links
            row = KeyValue(key="secret_key", value=new_secret_key())
            session.add(row)
            session.flush()
        secret = row.value
    return suppression_key(secret)


@dataclass(frozen=True)
class SuppressionList:
    """The list as read once (planning and sending check every subscriber against it)."""

    key: bytes
    keyed: frozenset[str]
    legacy: frozenset[str]

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        if keyed_email_hash(address, self.key) in self.keyed:
            return True
        return bool(self.legacy) and email_hash(address) in self.legacy


def suppression_list(session: Session) -> SuppressionList:
    rows = session.execute(select(Suppression.email_hash, Suppression.scheme)).all()
    return SuppressionList(
        key=_key(session),
        keyed=frozenset(h for h, scheme in rows if scheme == KEYED),
        legacy=frozenset(h for h, scheme in rows if scheme != KEYED),
    )


def suppress(session: Session, email: str, *, reason: str, now: dt.datetime) -> None:
    """Add the address (a legacy row for it is replaced by a keyed one, keeping its reason)."""
    keyed = keyed_email_hash(email, _key(session))
    if session.get(Suppression, keyed) is not None:
        return
    legacy = session.get(Suppression, email_hash(email))
    if legacy is not None:
        reason, now = legacy.reason, legacy.created_at
        session.delete(legacy)
    session.add(Suppression(email_hash=keyed, scheme=KEYED, reason=reason, created_at=now))


def lift(session: Session, email: str) -> None:
    """Take the address off the list (it confirmed again), whichever way it was hashed."""
    hashes = (keyed_email_hash(email, _key(session)), email_hash(email))
    session.execute(delete(Suppression).where(Suppression.email_hash.in_(hashes)))
