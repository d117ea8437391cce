"""Rate-limit counters in the database, on SQLite and PostgreSQL: a sliding window, all buckets
or none, and one allowance however many processes count against it at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from digest.store import rate_limits
from digest.store.db import Database
from digest.store.rate_limits import Allowance

NOW = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


def take(db: Database, *allowances: Allowance, now: dt.datetime = NOW) -> Allowance | None:
    with db.session() as session:
        return rate_limits.take(session, allowances, now=now)


def test_the_window_allows_the_limit_then_refuses(db: Database) -> None:
    ip = Allowance("ip:a", 3, MINUTE)
    assert [take(db, ip) for _ in range(4)] == [None, None, None, ip]
    assert take(db, Allowance("ip:b", 3, MINUTE)) is None


def test_hits_leave_the_window_as_time_passes(db: Database) -> None:
    ip = Allowance("ip:a", 2, MINUTE)
    take(db, ip)
    take(db, ip, now=NOW + dt.timedelta(seconds=30))
    assert take(db, ip, now=NOW + dt.timedelta(seconds=31)) == ip
    later = NOW + dt.timedelta(seconds=61)  # the first hit is now older than the window
    assert take(db, ip, now=later) is None
    assert take(db, ip, now=later) == ip


def test_refused_attempts_do_not_extend_the_wait(db: Database) -> None:
    ip = Allowance("ip:a", 1, MINUTE)
    take(db, ip)
    for seconds in range(5, 55, 5):
        assert take(db, ip, now=NOW + dt.timedelta(seconds=seconds)) == ip
    assert take(db, ip, now=NOW + dt.timedelta(seconds=61)) is None


def test_a_request_counts_in_every_bucket_or_in_none(db: Database) -> None:
    network, mailbox = Allowance("net:a", 5, MINUTE), Allowance("box:v", 1, MINUTE)
    assert take(db, network, mailbox) is None
    assert take(db, network, mailbox) == mailbox
    with db.session() as session:
        assert rate_limits.counted(session, "net:a", now=NOW) == 1  # the refusal counted nowhere


def test_many_requests_in_one_transaction_count_one_after_the_other(db: Database) -> None:
    """An import's confirm emails: each address is its own request, one bucket may repeat."""
    box, other = Allowance("box:v", 2, MINUTE), Allowance("box:w", 2, MINUTE)
    take(db, box)
    with db.session() as session:
        allowed = rate_limits.take_each(session, [box, other, box, other, other], now=NOW)
    assert allowed == [True, True, False, True, False]
    with db.session() as session:
        assert rate_limits.counted(session, "box:v", now=NOW) == 2
        assert rate_limits.counted(session, "box:w", now=NOW) == 2
    assert take(db, box) == box  # the batch counted as the single requests do


def test_expired_hits_are_swept(db: Database) -> None:
    for number in range(50):
        take(db, Allowance(f"once:{number}", 1, MINUTE))
    take(db, Allowance("day:a", 1, dt.timedelta(days=1)))
    with db.session() as session:
        swept = rate_limits.sweep_expired(session, now=NOW + dt.timedelta(minutes=2))
    assert swept == 50 or db.is_sqlite  # SQLite's takes sweep as they count
    with db.session() as session:
        rows = session.execute(text("SELECT COUNT(*) FROM rate_limit_hits")).scalar()
    assert rows == 1


def test_replicas_counting_at_once_never_exceed_the_allowance(database_url: str) -> None:
    """Eight processes' worth of engines, each asking 20 times at once for 25 places."""
    Database(database_url).upgrade()
    replicas = [Database(database_url) for _ in range(8)]
    allowance = Allowance("mails:victim", 25, dt.timedelta(days=1))
    allowed: list[bool] = []
    start = threading.Barrier(len(replicas))

    def ask(db: Database) -> None:
        start.wait()
        for _ in range(20):
            allowed.append(take(db, allowance) is None)

    threads = [threading.Thread(target=ask, args=(db,)) for db in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for db in replicas:
        db.dispose()
    assert len(allowed) == 160
    assert sum(allowed) == 25


def test_the_migration_adds_and_removes_the_table(db: Database) -> None:
    db.downgrade("0004")
    with db.session() as session:
        names = {r[0] for r in session.execute(text(_TABLES[db.engine.dialect.name]))}
    assert "rate_limit_hits" not in names
    db.upgrade()
    assert take(db, Allowance("ip:a", 1, MINUTE)) is None


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
}
