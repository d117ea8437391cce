"""The send journal on PostgreSQL: marks of messages sent side by side share one commit."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from digest.store import send_journal
from digest.store.db import Database
from digest.store.deliveries import FinalOutcome
from digest.store.schema import Delivery
from digest.store.send_journal import SendJournal
from digest.store.subscribers import upsert_subscriber

NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    database.upgrade()
    yield database
    database.engine.dispose()


def claimed_rows(database: Database, count: int) -> list[int]:
    """``count`` deliveries in `sending`, as a claim leaves them."""
    with database.session() as session:
        ids = []
        for number in range(count):
            subscriber, _ = upsert_subscriber(
                session, f"reader{number}@example.org", now=NOW, state="confirmed"
            )
            session.flush()
            row = Delivery(
                subscriber_id=subscriber.id,
                digest_date=NOW.date(),
                state="sending",
                message_id=f"<m{number}@example.org>",
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def recording_commits(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The delivery ids of each mark commit, in order (the real commit still runs)."""
    batches: list[list[int]] = []
    real = SendJournal._commit_async

    async def commit(self: SendJournal, marks: Sequence[Any]) -> None:
        batches.append([delivery_id for delivery_id, _, _ in marks])
        await real(self, marks)

    monkeypatch.setattr(SendJournal, "_commit_async", commit)
    return batches


def test_a_mark_waits_for_the_marks_on_their_way_and_shares_their_commit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(send_journal, "LINGER", 30.0)  # only the arrivals may end the wait
    first, second, earlier = claimed_rows(database, 3)
    batches = recording_commits(monkeypatch)
    coming = {second}

    async def scenario() -> None:
        journal = SendJournal(database.engine, marks_coming=coming.__len__)
        finished = [FinalOutcome(earlier, "sent", 250, "250 ok")]
        marking_first = asyncio.create_task(journal.data_started(first, finished, NOW))
        await asyncio.sleep(0.05)
        assert not marking_first.done()  # the second message is on its way to DATA
        coming.clear()
        await asyncio.wait_for(
            asyncio.gather(marking_first, journal.data_started(second, [], NOW)), 5
        )
        await journal.aclose()

    asyncio.run(scenario())
    assert batches == [[first, second]]
    with database.session() as session:
        rows = {row.id: row for row in session.scalars(select(Delivery))}
    assert all(rows[i].data_started_at == NOW and rows[i].attempts == 1 for i in (first, second))
    assert (rows[earlier].state, rows[earlier].last_code, rows[earlier].sent_at) == (
        "sent",
        250,
        NOW,
    )


def test_a_message_that_finishes_without_data_releases_the_waiting_commit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(send_journal, "LINGER", 30.0)
    (marked,) = claimed_rows(database, 1)
    batches = recording_commits(monkeypatch)
    coming = {"refused at RCPT"}

    async def scenario() -> None:
        journal = SendJournal(database.engine, marks_coming=coming.__len__)
        marking = asyncio.create_task(journal.data_started(marked, [], NOW))
        await asyncio.sleep(0.05)
        assert not marking.done()
        coming.clear()
        journal.nudge()
        await asyncio.wait_for(marking, 5)
        await journal.aclose()

    asyncio.run(scenario())
    assert batches == [[marked]]


def test_the_wait_for_marks_that_never_come_is_bounded(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(send_journal, "LINGER", 0.05)
    (marked,) = claimed_rows(database, 1)

    async def scenario() -> None:
        journal = SendJournal(database.engine, marks_coming=lambda: 1)  # never arrives
        await asyncio.wait_for(journal.data_started(marked, [], NOW), 5)
        await journal.aclose()

    asyncio.run(scenario())
    with database.session() as session:
        assert session.get(Delivery, marked).data_started_at == NOW  # type: ignore[union-attr]


def test_any_reply_text_is_recorded_as_the_server_sent_it(database: Database) -> None:
    replies = [
        'quoted "text", {braces}, back\\slash, NULL',
        "non-ASCII ü 漢字, and a line\nbreak",
        "NUL\x00 dropped, a lone surrogate \udcff replaced",
        "",
    ]
    *finished_ids, marked = claimed_rows(database, len(replies) + 1)
    finished = [
        FinalOutcome(delivery_id, "sent" if n % 2 else "ambiguous", 250 if n % 2 else None, text)
        for n, (delivery_id, text) in enumerate(zip(finished_ids, replies, strict=True))
    ]

    async def scenario() -> None:
        journal = SendJournal(database.engine)
        await journal.data_started(marked, finished, NOW)
        await journal.aclose()

    asyncio.run(scenario())
    with database.session() as session:
        rows = {row.id: row for row in session.scalars(select(Delivery))}
    assert [rows[i].last_message for i in finished_ids] == [
        replies[0],
        replies[1],
        "NUL dropped, a lone surrogate ? replaced",
        "",
    ]
    assert [(rows[i].state, rows[i].last_code) for i in finished_ids] == [
        ("ambiguous", None),
        ("sent", 250),
        ("ambiguous", None),
        ("sent", 250),
    ]
    assert rows[marked].data_started_at == NOW
