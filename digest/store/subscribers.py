"""Subscribers and their profiles, the suppression list, and the state machine between them.

States: unconfirmed → confirmed → unsubscribed | suspended; confirming again resubscribes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from digest.addresses import normalize_email
from digest.errors import NotFound
from digest.models import LearntTaste, Profile, Subscriber, Topic
from digest.store.bounces import forget_subscriber
from digest.store.db import one_of
from digest.store.schema import SubscriberRow
from digest.store.suppressions import lift, suppress

SCHEDULE_FIELDS = ("timezone", "send_hour", "frequency", "weekday", "paused_until")
CLEARABLE_FIELDS = ("paused_until",)  # None clears these; for the others None means "keep"


def profile_to_json(profile: Profile) -> dict[str, Any]:
    data = dataclasses.asdict(profile)
    data["topics"] = [{"text": t.text, "weight": t.weight} for t in profile.topics]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def profile_from_json(data: dict[str, Any]) -> Profile:
    known = {f.name for f in dataclasses.fields(Profile)}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    values["topics"] = tuple(
        Topic(str(t["text"]), float(t.get("weight", 1.0))) for t in data.get("topics", [])
    )
    for name in ("exclude", "categories", "exclude_categories", "authors", "seeds"):
        values[name] = tuple(values.get(name, ()))
    learnt = data.get("learnt")
    values["learnt"] = None
    if isinstance(learnt, dict) and learnt.get("weights"):
        values["learnt"] = LearntTaste(
            model=str(learnt["model"]),
            ratings=int(learnt["ratings"]),
            weights=tuple(float(w) for w in learnt["weights"]),
            bias=float(learnt.get("bias", 0.0)),
        )
    return Profile(**values)


def to_subscriber(row: SubscriberRow) -> Subscriber:
    return _subscriber(row, profile_from_json(row.profile or {}))


def _subscriber(row: Any, profile: Profile) -> Subscriber:
    """From an ORM row or a Core row of the same columns."""
    return Subscriber(
        id=row.id,
        email=row.email,
        state=row.state,
        profile=profile,
        timezone=row.timezone,
        send_hour=row.send_hour,
        frequency=row.frequency,
        weekday=row.weekday,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
    )


_SUBSCRIBER_COLUMNS = (
    SubscriberRow.id,
    SubscriberRow.email,
    SubscriberRow.state,
    cast(SubscriberRow.profile, Text).label("profile"),
    SubscriberRow.timezone,
    SubscriberRow.send_hour,
    SubscriberRow.frequency,
    SubscriberRow.weekday,
    SubscriberRow.created_at,
    SubscriberRow.confirmed_at,
)


def subscribers_by_ids(session: Session, subscriber_ids: Sequence[int]) -> dict[int, Subscriber]:
    """Many subscribers by id, as :func:`to_subscriber` gives them, without ORM objects.

    Planning and sending read every subscriber of a run, and most share a handful of
    profiles: each distinct profile's JSON is decoded once (the Profile is immutable).
    """
    query = select(*_SUBSCRIBER_COLUMNS).where(one_of(session, SubscriberRow.id, subscriber_ids))
    return {
        row.id: _subscriber(row, _profile_from_text(row.profile)) for row in session.execute(query)
    }


@functools.lru_cache(maxsize=4096)
def _profile_from_text(text: str | None) -> Profile:
    return profile_from_json((json.loads(text) if text else None) or {})  # "null" as {} too


def find_row(session: Session, email: str) -> SubscriberRow | None:
    return session.scalar(
        select(SubscriberRow).where(SubscriberRow.email == normalize_email(email))
    )


def get_row(session: Session, email: str) -> SubscriberRow:
    row = find_row(session, email)
    if row is None:
        raise NotFound(f"no subscriber {email.strip()!r}")
    return row


def upsert_subscriber(
    session: Session,
    email: str,
    *,
    now: dt.datetime,
    profile_changes: dict[str, Any] | None = None,
    schedule: dict[str, Any] | None = None,
    state: str | None = None,
) -> tuple[SubscriberRow, bool]:
    """Create the subscriber or update the one with that address; returns (row, created)."""
    address = normalize_email(email)
    row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
    created = row is None
    if row is None:
        row = SubscriberRow(
            email=address,
            state="unconfirmed",
            profile=profile_to_json(Profile()),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    if profile_changes:
        current = profile_from_json(row.profile or {})
        row.profile = profile_to_json(dataclasses.replace(current, **profile_changes))
    for name, value in (schedule or {}).items():
        if name in SCHEDULE_FIELDS and (value is not None or name in CLEARABLE_FIELDS):
            setattr(row, name, value)
    if state is not None:
        set_state(session, row, state, now=now)
    row.updated_at = now
    session.flush()
    return row, created


def set_state(
    session: Session,
    row: SubscriberRow,
    state: str,
    *,
    now: dt.datetime,
    consent_ip: str | None = None,
) -> None:
    """Move a subscriber between states, keeping the suppression list in step."""
    row.state = state
    row.updated_at = now
    if state == "confirmed":
        row.confirmed_at = now
        row.consent_ip = consent_ip or row.consent_ip
        row.unsubscribed_at = None
        row.hard_bounces = 0
        lift(session, row.email)
    elif state in ("unsubscribed", "suspended"):
        row.unsubscribed_at = now if state == "unsubscribed" else row.unsubscribed_at
        suppress(session, row.email, reason=state, now=now)


def remove_subscriber(session: Session, email: str, *, now: dt.datetime) -> None:
    """Delete the subscriber and everything about them but a suppression hash."""
    row = get_row(session, email)
    suppress(session, row.email, reason="deleted", now=now)
    forget_subscriber(session, row.id)  # the reports' bytes hold the address
    session.delete(row)


def list_subscribers(session: Session, states: Sequence[str] | None = None) -> list[Subscriber]:
    query = select(SubscriberRow).order_by(SubscriberRow.id)
    if states:
        query = query.where(SubscriberRow.state.in_(states))
    return [to_subscriber(row) for row in session.scalars(query)]


def get_subscriber_by_id(session: Session, subscriber_id: int) -> Subscriber | None:
    row = session.get(SubscriberRow, subscriber_id)
    return to_subscriber(row) if row else None


def subscriber_json(row: SubscriberRow) -> dict[str, Any]:
    """What `subscribers show --json` and the data export print: the whole profile."""
    profile = profile_to_json(profile_from_json(row.profile or {}))
    return {
        "id": row.id,
        "email": row.email,
        "state": row.state,
        "topics": [
            t["text"] if t["weight"] == 1.0 else f"{t['text']}:{t['weight']:g}"
            for t in profile["topics"]
        ],
        "exclude": profile["exclude"],
        "profile": profile,
        "timezone": row.timezone,
        "send_hour": row.send_hour,
        "frequency": row.frequency,
        "weekday": row.weekday,
        "paused_until": row.paused_until.isoformat() if row.paused_until else None,
        "created_at": row.created_at.isoformat(),
        "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
        "unsubscribed_at": row.unsubscribed_at.isoformat() if row.unsubscribed_at else None,
        "consent_ip": row.consent_ip,
        "consent_source": row.consent_source,
        "hard_bounces": row.hard_bounces,
        "soft_bounces": row.soft_bounces,
    }


def record_hard_bounce(
    session: Session, subscriber_id: int, *, now: dt.datetime, limit: int
) -> None:
    """Count a permanent failure; at the limit the subscriber is suspended until they re-confirm."""
    row = session.get(SubscriberRow, subscriber_id)
    if row is None:
        return
    row.hard_bounces += 1
    if row.hard_bounces >= limit and row.state == "confirmed":
        set_state(session, row, "suspended", now=now)


def all_rows(session: Session) -> list[SubscriberRow]:
    return list(session.scalars(select(SubscriberRow).order_by(SubscriberRow.id)))


def confirmed_with_pause(session: Session) -> list[tuple[Subscriber, dt.date | None]]:
    """Confirmed subscribers with the date their pause ends (None when not paused)."""
    query = (
        select(SubscriberRow).where(SubscriberRow.state == "confirmed").order_by(SubscriberRow.id)
    )
    return [(to_subscriber(row), row.paused_until) for row in session.scalars(query)]


def feed_generation(session: Session, subscriber_id: int) -> int | None:
    """The generation current feed links must carry; None when there is no such subscriber."""
    return session.scalar(
        select(SubscriberRow.feed_generation).where(SubscriberRow.id == subscriber_id)
    )


def new_feed_generation(session: Session, subscriber_id: int, *, now: dt.datetime) -> int:
    """End every feed link of the subscriber so far; returns the generation new ones carry."""
    row = session.get(SubscriberRow, subscriber_id)
    if row is None:
        raise NotFound(f"no subscriber {subscriber_id}")
    row.feed_generation += 1
    row.updated_at = now
    session.flush()
    return row.feed_generation
