"""Planning shards on a real PostgreSQL: replicas split a run, and a dead one's shard is freed.

The holder that dies is a real process killed with SIGKILL while it holds a shard's row lock.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from digest.store import plan_shards
from digest.store.db import Database
from digest.store.schema import PlanShard

NOW = dt.datetime(2026, 12, 4, 7, 2, tzinfo=dt.UTC)
KEY = plan_shards.plan_key("daily", NOW.date(), 4, NOW)
IDS = list(range(1, 1201))  # 100, then 500 each: shards [0,101) [101,601) [601,1101) [1101,∞)


def test_bounds_cover_every_id_once_and_any_id_added_later() -> None:
    bounds = plan_shards.shard_bounds(IDS, first=100, size=500)
    assert bounds == [(0, 101), (101, 601), (601, 1101), (1101, None)]
    assert plan_shards.shard_bounds([], first=100, size=500) == [(0, None)]


def test_replicas_of_one_run_share_a_key_a_later_run_does_not() -> None:
    same = plan_shards.plan_key("daily", NOW.date(), 4, NOW + dt.timedelta(seconds=50))
    later = plan_shards.plan_key("daily", NOW.date(), 4, NOW + dt.timedelta(minutes=10))
    assert same == KEY == "daily 2026-12-04 w4 2026-12-04T07:00"
    assert later != KEY


@pytest.fixture
def db(postgres_url: str) -> Database:
    database = Database(postgres_url)
    database.upgrade()
    return database


def test_three_replicas_plan_each_shard_once(db: Database) -> None:
    planned: list[tuple[str, int, int | None]] = []
    lock = threading.Lock()

    def replica(name: str) -> None:
        def plan_range(start: int, end: int | None) -> None:
            time.sleep(0.2)  # long enough that the others must take other shards
            with lock:
                planned.append((name, start, end))

        plan_shards.plan_in_shards(db, KEY, IDS, plan_range, now=NOW, first=100, size=500)

    threads = [threading.Thread(target=replica, args=(f"r{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted((s, e) for _, s, e in planned) == sorted(
        plan_shards.shard_bounds(IDS, first=100, size=500), key=lambda b: b[0]
    )
    assert len({name for name, _, _ in planned}) == 3  # the work was shared
    with db.engine.connect() as connection:
        rows = connection.execute(select(PlanShard.done_at, PlanShard.done_by)).all()
    assert all(done_at is not None and done_by for done_at, done_by in rows)


def test_a_later_rerun_of_the_same_key_plans_nothing_again(db: Database) -> None:
    calls: list[int] = []
    for _ in range(2):
        plan_shards.plan_in_shards(
            db, KEY, IDS, lambda s, e: calls.append(s), now=NOW, first=100, size=500
        )
    assert Counter(calls) == {0: 1, 101: 1, 601: 1, 1101: 1}


HOLDER = """
import datetime as dt, sys, time
from digest.store import plan_shards
from digest.store.db import Database
now = dt.datetime.fromisoformat(sys.argv[3])
def hold(start, end):
    print(start, flush=True)
    time.sleep(600)
plan_shards.plan_in_shards(Database(sys.argv[1]), sys.argv[2], list(range(1, 1201)), hold,
                           now=now, first=100, size=500)
"""


def test_a_replica_killed_mid_shard_leaves_it_to_a_live_one(
    db: Database, postgres_url: str
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, postgres_url, KEY, NOW.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "0"  # it holds the first shard
        planned: list[int] = []
        survivor = threading.Thread(
            target=plan_shards.plan_in_shards,
            args=(db, KEY, IDS, lambda s, e: planned.append(s)),
            kwargs={"now": NOW, "first": 100, "size": 500},
        )
        survivor.start()
        deadline = time.monotonic() + 20
        while len(planned) < 3 and time.monotonic() < deadline:  # the three shards nobody holds
            time.sleep(0.05)
        assert sorted(planned) == [101, 601, 1101] and survivor.is_alive()  # waiting for shard 0
        os.kill(holder.pid, signal.SIGKILL)
        survivor.join(timeout=20)
        assert not survivor.is_alive()
        assert sorted(planned) == [0, 101, 601, 1101]
    finally:
        holder.kill()
        holder.wait(timeout=10)
