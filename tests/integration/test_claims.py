"""Claiming due deliveries in shares: each process takes its own editions, then any row."""

from __future__ import annotations

import datetime as dt

from digest.service import Service
from digest.store import deliveries
from digest.store.schema import Delivery, Edition
from digest.store.subscribers import upsert_subscriber

NOW = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def test_a_share_claims_the_rows_of_its_editions_and_a_note_goes_by_subscriber(
    service: Service,
) -> None:
    with service.db.session() as session:
        editions = [Edition(digest_date=NOW.date(), created_at=NOW) for _ in range(4)]
        session.add_all(editions)
        session.flush()
        rows = []
        for number in range(10):
            subscriber, _ = upsert_subscriber(
                session, f"reader{number}@example.org", now=NOW, state="confirmed"
            )
            session.flush()
            edition = editions[number % 4].id if number < 8 else None  # the last two: notes
            rows.append(
                Delivery(
                    subscriber_id=subscriber.id,
                    digest_date=NOW.date(),
                    kind="digest" if edition else "nothing",
                    message_id=f"<m{number}@example.org>",
                    edition_id=edition,
                    next_attempt_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.add_all(rows)
    expected = {
        k: {r.id for r in rows if (r.edition_id or r.subscriber_id) % 2 == k} for k in (0, 1)
    }
    with service.db.session() as session:
        first = deliveries.claim_due(session, now=NOW, limit=100, share=(1, 2))
    with service.db.session() as session:
        second = deliveries.claim_due(session, now=NOW, limit=100, share=(0, 2))
    with service.db.session() as session:
        rest = deliveries.claim_due(session, now=NOW, limit=100, share=(1, 2))
    assert {r.id for r in first} == expected[1]
    assert {r.id for r in second} == expected[0]
    assert rest == []
    assert expected[0] and expected[1]
