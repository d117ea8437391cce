"""Migrations carry the data: 0002 turns each delivery's picks into an edition and back; 0004
rebuilds subscribers on SQLite without losing a row that references it."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from digest import pipeline
from digest.service import Service
from digest.store import deliveries, editions, subscribers, suppressions
from digest.store.db import Database
from tests.integration.test_pipeline import DAY, NOW, add_subscriber, ingest_samples


def picks_by_delivery(service: Service) -> dict[int, list[editions.StoredPick]]:
    with service.db.session() as session:
        ids = [row.id for row, _ in deliveries.list_deliveries(session)]
        return editions.items_for(session, ids)


def test_editions_survive_a_downgrade_and_upgrade(service: Service) -> None:
    ingest_samples(service)
    for number in range(3):  # two share a profile, so they share an edition
        topics = ("LLM agents",) if number < 2 else ("diffusion models", "robotics")
        add_subscriber(service, f"reader{number}@example.org", *topics)
    pipeline.plan_digests(service, DAY, now=NOW)
    before = picks_by_delivery(service)
    assert len(before) == 3 and all(before.values())
    with service.db.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM editions")).scalar() == 2

    service.db.downgrade("0001")
    with service.db.session() as session:
        rows = session.execute(text("SELECT COUNT(*) FROM delivery_items")).scalar()
    assert rows == sum(len(picks) for picks in before.values())

    service.db.upgrade()
    assert picks_by_delivery(service) == before
    with service.db.session() as session:  # one edition per delivery now, ids continue after
        assert session.execute(text("SELECT COUNT(*) FROM editions")).scalar() == 3
    add_subscriber(service, "reader3@example.org", "retrieval")
    assert pipeline.plan_digests(service, DAY, now=NOW).planned == 1


def test_0004_keeps_subscribers_their_history_and_every_suppression(
    service: Service, database_url: str
) -> None:
    """0004 rebuilds subscribers on SQLite (AUTOINCREMENT): no row that references it may go,
    and suppression rows keep counting, the bare SHA-256 ones of the older code included."""
    ingest_samples(service)
    for address in ("ada@example.org", "bob@example.org", "cy@example.org"):
        add_subscriber(service, address, "LLM agents")
    pipeline.plan_digests(service, DAY, now=NOW)
    with service.db.session() as session:
        subscribers.remove_subscriber(session, "cy@example.org", now=NOW)
    before = picks_by_delivery(service)
    service.db.downgrade("0002")
    with service.db.session() as session:  # as the older code writes it: no scheme given
        session.execute(
            text("INSERT INTO suppressions (email_hash, reason, created_at) VALUES (:h, 'x', :t)"),
            {"h": hashlib.sha256(b"eve@example.org").hexdigest(), "t": NOW},
        )
    Database(database_url).upgrade()
    assert picks_by_delivery(service) == before and len(before) == 2
    with service.db.session() as session:
        listed = suppressions.suppression_list(session)
        assert "eve@example.org" in listed and "cy@example.org" in listed
        assert "ada@example.org" not in listed
        bob = subscribers.get_row(session, "bob@example.org").id
        subscribers.remove_subscriber(session, "bob@example.org", now=NOW)
    add_subscriber(service, "bob@example.org", "robotics")
    with service.db.session() as session:
        assert subscribers.get_row(session, "bob@example.org").id > bob
        assert session.execute(text("SELECT COUNT(*) FROM deliveries")).scalar() == 1
