"""Replicas share a planning run: ranges of subscriber ids, claimed with FOR UPDATE SKIP LOCKED.

The first replica of a run (named by its ``plan_key``) cuts the subscriber ids it sees into
shards, under a transaction-scoped advisory lock so two replicas never cut the same run twice;
the first shard starts at 0 and the last has no end, so a subscriber who confirms meanwhile
still falls in one. Each replica then takes the first shard nobody holds, keeps its row locked
in an open transaction while it ranks and records that shard, and marks it done in that same
transaction. A replica that dies mid-shard loses its connection, PostgreSQL rolls the
transaction back and the shard is open again. A replica that finds every open shard held waits
for one (a plain FOR UPDATE): it returns done, or freed by a dead holder, and then it is ours.

Planning twice is harmless (deliveries are unique per subscriber and date), so the shards only
save work; SQLite, one writer on one machine, plans everything in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from digest.store.claimants import worker_id
from digest.store.db import Database
from digest.store.schema import PlanShard

log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x64697368  # "dish": the advisory key space of shard cutting
WAIT_FOR_HELD_SHARD = "15min"  # a replica that holds a shard longer is stuck; stop waiting


def shard_bounds(ids: Sequence[int], *, first: int, size: int) -> list[tuple[int, int | None]]:
    """[start, end) ranges over the id space: the first ``first`` ids, then ``size`` each."""
    ordered = sorted(set(ids))
    cuts = [ordered[i] for i in range(first, len(ordered), size)] if ordered else []
    starts = [0, *cuts]
    return list(zip(starts, [*cuts, None], strict=True))


def _lock_key(plan_key: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(plan_key.encode(), digest_size=4).digest(), "big", signed=True
    )


def _cut(
    connection: Connection, plan_key: str, bounds: list[tuple[int, int | None]], now: dt.datetime
) -> None:
    """The run's shards, unless another replica has already cut them."""
    connection.execute(
        text("SELECT pg_advisory_xact_lock(:space, :key)"),
        {"space": _LOCK_NAMESPACE, "key": _lock_key(plan_key)},
    )
    count = select(func.count()).select_from(PlanShard).where(PlanShard.plan_key == plan_key)
    if connection.execute(count).scalar_one():
        return
    rows = [
        {"plan_key": plan_key, "first_id": a, "end_id": b, "created_at": now} for a, b in bounds
    ]
    connection.execute(insert(PlanShard), rows)


def _claim(connection: Connection, plan_key: str, *, wait: bool) -> PlanShard | None:
    query = (
        select(PlanShard)
        .where(PlanShard.plan_key == plan_key, PlanShard.done_at.is_(None))
        .order_by(PlanShard.first_id)
        .limit(1)
        .with_for_update(skip_locked=not wait)
    )
    if wait:
        connection.execute(text(f"SET LOCAL lock_timeout = '{WAIT_FOR_HELD_SHARD}'"))
    row = connection.execute(query).first()
    return None if row is None else PlanShard(id=row.id, first_id=row.first_id, end_id=row.end_id)


def _shards(db: Database, plan_key: str, *, open_only: bool) -> int:
    query = select(func.count()).select_from(PlanShard).where(PlanShard.plan_key == plan_key)
    if open_only:
        query = query.where(PlanShard.done_at.is_(None))
    with db.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def plan_key(
    kind: str, date: dt.date, window_days: int, now: dt.datetime, *, bucket_minutes: int = 5
) -> str:
    """The name replicas of one run share: the job, the digest date and window, and the
    ``bucket_minutes`` slot of ``now`` (replicas started by the same cron line or tick share
    it; a rerun later is a new run and plans whoever still has no delivery)."""
    slot = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    slot -= dt.timedelta(minutes=slot.minute % bucket_minutes)
    return f"{kind} {date.isoformat()} w{window_days} {slot:%Y-%m-%dT%H:%M}"


def plan_in_shards(
    db: Database,
    plan_key: str,
    ids: Sequence[int],
    plan_range: Callable[[int, int | None], None],
    *,
    now: dt.datetime,
    first: int,
    size: int,
) -> int:
    """Call ``plan_range(start, end)`` for each shard this replica claims; returns how many.

    ``ids`` are the subscribers this replica would plan; only the replica that cuts the run
    uses them. An exception inside ``plan_range`` leaves that shard open and propagates.
    """
    with db.engine.begin() as connection:
        _cut(connection, plan_key, shard_bounds(ids, first=first, size=size), now)
    planned, shards = 0, _shards(db, plan_key, open_only=False)
    for _ in range(2 * shards + 1):  # each pass plans a shard or outwaits one held elsewhere
        with db.engine.begin() as connection:
            shard = _claim(connection, plan_key, wait=False)
            try:
                shard = shard or _claim(connection, plan_key, wait=True)
            except OperationalError:
                log.warning(
                    "a replica has held a planning shard of %s for %s",
                    plan_key,
                    WAIT_FOR_HELD_SHARD,
                )
                return planned
            if shard is not None:
                plan_range(shard.first_id, shard.end_id)
                done = update(PlanShard).where(PlanShard.id == shard.id)
                connection.execute(done.values(done_at=now, done_by=worker_id()))
                planned += 1
                continue
        if not _shards(db, plan_key, open_only=True):
            return planned
    return planned
