"""Rate-limit counters in the database, so every replica spends the same allowance.

A bucket holds one row per counted request until the bucket's window has passed: a true
sliding window, not fixed intervals (three emails "per day" are three in any 24 hours). One
request can count in several buckets at once (the client's network, the mailbox, the site);
it is counted in all of them or, when any is full, in none.

Two replicas checking the same bucket at once must not both see room for one more: on
PostgreSQL each bucket is held by a transaction-scoped advisory lock while it is counted and
written; on SQLite the first statement is a write (the sweep of expired rows), which takes the
database's one write lock for the rest of the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from digest.store.schema import RateLimitHit

# The advisory locks' first key: "digr" (the scheduler's single-key lock is another key space).
_LOCK_NAMESPACE = 0x64696772
_SWEEP_KEY = 0


@dataclass(frozen=True)
class Allowance:
    """At most ``limit`` counted requests in ``bucket`` in any ``window``."""

    bucket: str
    limit: int
    window: dt.timedelta


def _lock_key(bucket: str) -> int:
    """A signed 32-bit key for the bucket (a collision only makes two buckets wait in turn)."""
    return int.from_bytes(
        hashlib.blake2b(bucket.encode(), digest_size=4).digest(), "big", signed=True
    )


def _hold(session: Session, buckets: Sequence[str], now: dt.datetime) -> None:
    """Hold ``buckets`` for the rest of this transaction; see the module docstring."""
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted({_lock_key(bucket) for bucket in buckets}):  # one order: no deadlock
            session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :key)"),
                {"space": _LOCK_NAMESPACE, "key": key},
            )
        return
    session.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= now))


def _held_counts(session: Session, buckets: Sequence[str], now: dt.datetime) -> dict[str, int]:
    """Hold ``buckets`` (see :func:`_hold`) and count the hits each has in its window."""
    _hold(session, buckets, now)
    query = (
        select(RateLimitHit.bucket, func.count())
        .where(RateLimitHit.bucket.in_(buckets), RateLimitHit.expires_at > now)
        .group_by(RateLimitHit.bucket)
    )
    return {bucket: count for bucket, count in session.execute(query)}


def take(
    session: Session, allowances: Sequence[Allowance], *, now: dt.datetime
) -> Allowance | None:
    """Count one request in every bucket if each has room; else the first full allowance
    (and nothing is counted: a refused request does not make the wait longer).

    Call it in a session of its own, committed straight after: the buckets stay held until
    the transaction ends.
    """
    counts = _held_counts(session, [a.bucket for a in allowances], now)
    for allowance in allowances:
        if counts.get(allowance.bucket, 0) >= allowance.limit:
            return allowance
    session.execute(
        insert(RateLimitHit),
        [{"bucket": a.bucket, "expires_at": now + a.window} for a in allowances],
    )
    return None


def take_each(session: Session, allowances: Sequence[Allowance], *, now: dt.datetime) -> list[bool]:
    """Count each allowance as a request of its own, in order; which ones had room.

    One transaction for many independent requests (an import's confirm emails), with the
    same holds as :func:`take`; two requests in one bucket count one after the other.
    """
    counts = _held_counts(session, sorted({a.bucket for a in allowances}), now)
    allowed = []
    for allowance in allowances:
        room = counts.get(allowance.bucket, 0) < allowance.limit
        if room:
            counts[allowance.bucket] = counts.get(allowance.bucket, 0) + 1
        allowed.append(room)
    hits = [
        {"bucket": a.bucket, "expires_at": now + a.window}
        for a, room in zip(allowances, allowed, strict=True)
        if room
    ]
    if hits:
        session.execute(insert(RateLimitHit), hits)
    return allowed


def sweep_expired(session: Session, *, now: dt.datetime) -> int:
    """Delete the rows whose window has passed; how many went.

    Buckets that are never asked again keep their rows until a sweep. On PostgreSQL one
    sweep runs at a time (a second finds the lock taken and leaves the work to the first).
    """
    if session.get_bind().dialect.name == "postgresql":
        got = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:space, :key)"),
            {"space": _LOCK_NAMESPACE, "key": _SWEEP_KEY},
        ).scalar()
        if not got:
            return 0
    result = session.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def counted(session: Session, bucket: str, *, now: dt.datetime) -> int:
    """Requests counted in ``bucket`` within its window (for tests and operators)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(RateLimitHit)
            .where(RateLimitHit.bucket == bucket, RateLimitHit.expires_at > now)
        )
        or 0
    )
