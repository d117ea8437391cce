"""Privacy on SQLite and PostgreSQL: keyed suppression hashes (old bare ones still honoured),
and subscriber ids that are never handed out twice, so an old link opens no later account."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from digest import pipeline
from digest.service import Service
from digest.store import subscribers, suppressions
from digest.store.schema import Suppression
from digest.web import create_app
from tests.conftest import make_settings
from tests.integration.test_pipeline import DAY, NOW, add_subscriber, ingest_samples


def bare_sha256(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def stored_hashes(service: Service) -> dict[str, str]:
    with service.db.session() as session:
        return dict(session.execute(select(Suppression.email_hash, Suppression.scheme)).all())


def add_legacy_row(service: Service, address: str) -> None:
    """A row as written before keyed hashes: the bare SHA-256 of an address we no longer have."""
    with service.db.session() as session:
        session.add(
            Suppression(
                email_hash=bare_sha256(address), scheme="sha256", reason="deleted", created_at=NOW
            )
        )


def test_the_suppression_list_keeps_a_keyed_hash_not_a_bare_one(service: Service) -> None:
    add_subscriber(service, "ada@example.org", "LLM agents")
    with service.db.session() as session:
        subscribers.remove_subscriber(session, "ada@example.org", now=NOW)
    (stored,) = stored_hashes(service).items()
    assert stored[1] == "hmac" and stored[0] != bare_sha256("ada@example.org")
    with service.db.session() as session:
        listed = suppressions.suppression_list(session)
    assert "ada@example.org" in listed and " Ada@Example.org" in listed
    assert "bob@example.org" not in listed


def test_the_keyed_hash_depends_on_the_secret(
    service: Service, database_url: str, tmp_path: Path
) -> None:
    with service.db.session() as session:
        subscribers.suppress(session, "ada@example.org", reason="complained", now=NOW)
    other = Service.open(make_settings(database_url, tmp_path, secret_key="another-secret"))
    try:
        with other.db.session() as session:
            assert "ada@example.org" not in suppressions.suppression_list(session)
    finally:
        other.close()


def test_a_legacy_sha256_row_still_keeps_the_address_out_of_the_digest(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents")
    add_subscriber(service, "bob@example.org", "LLM agents")
    add_legacy_row(service, "bob@example.org")
    report = pipeline.plan_digests(service, DAY, now=NOW)
    assert report.planned == 1
    with service.db.session() as session:
        assert "bob@example.org" in suppressions.suppression_list(session)


def test_suppressing_again_rekeys_a_legacy_row_and_confirming_lifts_it(service: Service) -> None:
    add_subscriber(service, "bob@example.org", "LLM agents")
    add_legacy_row(service, "bob@example.org")
    with service.db.session() as session:
        row = subscribers.get_row(session, "bob@example.org")
        subscribers.set_state(session, row, "unsubscribed", now=NOW)
    (stored,) = stored_hashes(service).items()
    assert stored[1] == "hmac"
    with service.db.session() as session:  # and the old reason and date are kept
        kept = session.scalars(select(Suppression)).one()
        assert (kept.reason, kept.created_at) == ("deleted", NOW)
    add_legacy_row(service, "bob@example.org")
    with service.db.session() as session:
        row = subscribers.get_row(session, "bob@example.org")
        subscribers.set_state(session, row, "confirmed", now=NOW)
    assert stored_hashes(service) == {}


def test_an_old_link_never_opens_a_later_subscription_of_the_same_address(
    service: Service,
) -> None:
    """The newest subscriber deleted: SQLite without AUTOINCREMENT would hand its id out again."""
    add_subscriber(service, "ada@example.org", "LLM agents")
    add_subscriber(service, "bob@example.org", "LLM agents")
    with service.db.session() as session:
        old_id = subscribers.get_row(session, "bob@example.org").id
    old_links = service.links.for_subscriber(_subscriber(service, "bob@example.org"))
    with service.db.session() as session:
        subscribers.remove_subscriber(session, "bob@example.org", now=NOW)
    add_subscriber(service, "bob@example.org", "robotics")
    with service.db.session() as session:
        assert subscribers.get_row(session, "bob@example.org").id > old_id
    client = TestClient(create_app(service, clock=lambda: NOW + dt.timedelta(hours=1)))
    for url in (old_links.manage, old_links.unsubscribe, old_links.archive):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "robotics" not in response.text


def _subscriber(service: Service, address: str) -> subscribers.Subscriber:
    with service.db.session() as session:
        return subscribers.to_subscriber(subscribers.get_row(session, address))
