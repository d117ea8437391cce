"""What the manage page gives a subscriber: the whole history in the export, and a feed link
that does not expire but that they can replace."""

from __future__ import annotations

import re
import time

import feedparser
from starlette.testclient import TestClient

from digest.addresses import email_hash
from digest.service import Service
from digest.store.schema import EditionItem
from digest.tokens import LIFETIMES
from tests.unit.test_web_archive import archive_url, send_digest
from tests.unit.web_support import BASE, client, confirmed, row_of, service, token_in

__all__ = ["client", "service"]

FEED_LINK = re.compile(r'href="([^"]+/feed\.atom)"')


def feed_link(client: TestClient, manage: str) -> str:
    match = FEED_LINK.search(client.get(manage).text)
    assert match, "the manage page does not link the feed"
    return match[1]


def new_feed_link(client: TestClient, manage: str) -> str:
    page = client.get(manage).text
    response = client.post(f"{manage}/feed", data={"csrf_token": token_in(page)})
    assert response.status_code == 200 and "Here is your new feed link" in response.text
    match = FEED_LINK.search(response.text)
    assert match
    return match[1]


def titles(client: TestClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return [entry.title for entry in feedparser.parse(response.content).entries]


def test_the_export_holds_every_delivery_and_its_picks(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    send_digest(service)
    data = client.get(f"{manage}/export.json").json()
    (delivery,) = data["deliveries"]
    assert delivery["kind"] == "digest" and delivery["state"] == "sent"
    assert delivery["attempts"] == 1 and delivery["sent_at"]
    with service.db.session() as session:
        stored = session.query(EditionItem).order_by(EditionItem.position).all()
    assert [p["paper_id"] for p in delivery["picks"]] == [i.paper_id for i in stored]
    first = delivery["picks"][0]
    assert first["title"] and first["url"] and first["reasons"] == list(stored[0].reasons)
    assert first["topic"] == stored[0].topic


def test_the_feed_link_does_not_expire(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    send_digest(service)
    assert LIFETIMES["feed"] is None
    row = row_of(service, "ada@example.org")
    years_ago = int(time.time()) - 5 * 365 * 24 * 3600
    payload = {"s": row.id, "h": email_hash(row.email)[:16], "g": 0}
    old = service.signer.sign_payload("feed", payload, years_ago)
    assert titles(client, f"{BASE}/archive/{old}/feed.atom") == titles(
        client, feed_link(client, manage)
    )


def test_an_expired_archive_link_feed_says_so_in_the_feed(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    row = row_of(service, "ada@example.org")
    payload = {"s": row.id, "h": email_hash(row.email)[:16]}
    expired = service.signer.sign_payload("archive", payload, int(time.time()) - 400 * 86400)
    assert titles(client, f"{BASE}/archive/{expired}/feed.atom") == ["This feed link has expired"]


def test_a_new_feed_link_ends_the_old_ones_at_once(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    send_digest(service)
    old, from_archive_link = feed_link(client, manage), archive_url(service) + "/feed.atom"
    papers = titles(client, old)
    assert papers and titles(client, from_archive_link) == papers
    new = new_feed_link(client, manage)
    assert new != old and titles(client, new) == papers
    replaced = ["This feed link was replaced by a new one"]
    assert titles(client, old) == replaced and titles(client, from_archive_link) == replaced
    newer = new_feed_link(client, manage)
    assert titles(client, new) == replaced and titles(client, newer) == papers


def test_the_feed_links_to_pages_that_open(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    send_digest(service)
    parsed = feedparser.parse(client.get(feed_link(client, manage)).content)
    day_url = next(link.href for link in parsed.entries[0].links if link.rel == "related")
    assert client.get(day_url).status_code == 200


def test_a_new_feed_link_needs_the_form_token(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    old = feed_link(client, manage)
    assert client.post(f"{manage}/feed", data={}).status_code == 403
    assert client.get(old).headers["content-type"].startswith("application/atom+xml")
    assert "replaced" not in client.get(old).text
