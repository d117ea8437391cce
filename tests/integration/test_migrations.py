"""Migrations carry the data: 0002 turns each delivery's picks into an edition and back."""

from __future__ import annotations

from sqlalchemy import text

from digest import pipeline
from digest.service import Service
from digest.store import deliveries, editions
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
