"""Subscribers added in bulk: one chunk of an import file, one transaction, a few statements.

Only new addresses are written: an address that has a row already (whatever its state) is left
as it is, so importing the same file twice changes nothing. The INSERT is ``ON CONFLICT DO
NOTHING``, so two imports racing on one address add it once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digest.models import Profile
from digest.store.schema import SubscriberRow
from digest.store.subscribers import profile_to_json

IMPORT_CONSENT = "import"


def existing_emails(session: Session, emails: Sequence[str]) -> set[str]:
    """Which of these (normalised) addresses have a subscriber row already."""
    if not emails:
        return set()
    query = select(SubscriberRow.email).where(SubscriberRow.email.in_(emails))
    return set(session.scalars(query))


def insert_subscribers(
    session: Session,
    rows: Sequence[tuple[str, Profile, dict[str, Any]]],
    *,
    now: dt.datetime,
    confirmed: bool,
) -> list[tuple[int, str]]:
    """Add (email, profile, schedule) rows; returns (id, email) of those actually added.

    ``confirmed`` rows are recorded as consented by import (``consent_source``); the others
    start unconfirmed and wait for their confirm link.
    """
    if not rows:
        return []
    values = [
        dict(
            email=email,
            state="confirmed" if confirmed else "unconfirmed",
            profile=profile_to_json(profile),
            timezone=schedule.get("timezone") or "UTC",
            send_hour=7 if schedule.get("send_hour") is None else schedule["send_hour"],
            frequency=schedule.get("frequency") or "daily",
            weekday=0,
            created_at=now,
            updated_at=now,
            confirmed_at=now if confirmed else None,
            consent_source=IMPORT_CONSENT if confirmed else None,
            hard_bounces=0,
            soft_bounces=0,
            feed_generation=0,
        )
        for email, profile, schedule in rows
    ]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SubscriberRow)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(SubscriberRow.id, SubscriberRow.email)
    )
    return [(row.id, row.email) for row in session.execute(statement, values)]
