"""Configured feed sources and their health: what was fetched, when, and how it went."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.errors import NotFound
from digest.store.schema import Source

FAILING_FOR = dt.timedelta(days=2)


def add_source(
    session: Session, url: str, *, name: str | None, kind: str, now: dt.datetime
) -> tuple[Source, bool]:
    """Add a source, or update the URL of the one with that name; returns (row, created)."""
    name = name or url
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        row = Source(
            name=name,
            url=url,
            kind=kind,
            enabled=True,
            created_at=now,
            consecutive_failures=0,
            items_last_seen=0,
        )
        session.add(row)
        session.flush()
        return row, True
    if row.url != url:
        row.url, row.etag, row.last_modified, row.content_hash = url, None, None, None
    row.kind = kind
    return row, False


def list_sources(
    session: Session, names: list[str] | None = None, *, include_disabled: bool = False
) -> list[Source]:
    """Sources by name (NotFound names a missing one), else every enabled source."""
    query = select(Source).order_by(Source.name)
    if names:
        query = query.where(Source.name.in_(names))
        rows = list(session.scalars(query))
        missing = sorted(set(names) - {row.name for row in rows})
        if missing:
            raise NotFound(f"no source named {', '.join(missing)}: see `digest sources list`")
        return rows
    if include_disabled:
        return list(session.scalars(query))
    return list(session.scalars(query.where(Source.enabled.is_(True))))


def get_source(session: Session, name: str) -> Source:
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        raise NotFound(f"no source named {name}: see `digest sources list`")
    return row


def remove_source(session: Session, name: str) -> Source:
    """Forget a source; the sightings it recorded stay, so papers keep their trending history."""
    row = get_source(session, name)
    session.delete(row)
    return row


def is_failing_loudly(source: Source, now: dt.datetime) -> bool:
    """A source that has failed without a success for days: shown as an alarm, never hidden."""
    if source.consecutive_failures == 0:
        return False
    since = source.last_success_at or source.created_at
    return now - since >= FAILING_FOR


def failing_alarm(source: Source, now: dt.datetime) -> str | None:
    """The loud line for a source failing for days (None while it is healthy or just flaky)."""
    if not is_failing_loudly(source, now):
        return None
    since = source.last_success_at or source.created_at
    days = (now - since).days
    what = f"no success since {since:%Y-%m-%d}" if source.last_success_at else "never succeeded"
    return (
        f"FAILING for {days} days ({what}, {source.consecutive_failures} failures in a row): "
        f"fix the URL with `digest sources add URL --name {source.name}`"
    )


def record_attempt(
    source: Source,
    *,
    now: dt.datetime,
    error: str | None,
    items: int | None,
    etag: str | None = None,
    last_modified: str | None = None,
    content_hash: str | None = None,
) -> None:
    """Record one fetch. Validators are replaced only when the server sent a new body (a 304
    passes none and keeps the old ones); a failure keeps them all for the next attempt."""
    source.last_attempt_at = now
    if error is not None:
        source.last_error = error
        source.consecutive_failures += 1
        return
    source.last_success_at = now
    source.last_error = None
    source.consecutive_failures = 0
    if items is not None:
        source.items_last_seen = items
    if content_hash is not None or etag is not None or last_modified is not None:
        source.etag, source.last_modified = etag, last_modified
    if content_hash is not None:
        source.content_hash = content_hash


def source_json(source: Source, now: dt.datetime) -> dict[str, object]:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "name": source.name,
        "url": source.url,
        "kind": source.kind,
        "enabled": source.enabled,
        "last_attempt_at": iso(source.last_attempt_at),
        "last_success_at": iso(source.last_success_at),
        "last_error": source.last_error,
        "consecutive_failures": source.consecutive_failures,
        "items_last_seen": source.items_last_seen,
        "failing": is_failing_loudly(source, now),
        "alarm": failing_alarm(source, now),
    }
