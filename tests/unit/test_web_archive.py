"""The archive behind each digest: delivered digests as pages, "+N more" overflow, the Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import feedparser
from sqlalchemy import update
from starlette.testclient import TestClient

from digest import pipeline
from digest.models import Topic
from digest.service import Service
from digest.store import papers, subscribers
from digest.store.schema import Delivery, EditionItem, PaperRow
from tests.unit.web_support import (
    BASE,
    NOW,
    client,
    confirmed,
    outbox,
    row_of,
    service,
    text_part,
)

__all__ = ["client", "service"]

ATOM = "{http://www.w3.org/2005/Atom}"


def set_profile(service: Service, address: str, **changes: object) -> None:
    with service.db.session() as session:
        subscribers.upsert_subscriber(session, address, now=NOW, profile_changes=changes)


def send_digest(service: Service, address: str = "ada@example.org") -> str:
    """Run the daily job for the newest day; returns the text part of the digest email."""
    with service.db.session() as session:
        day = papers.newest_announcement(session)
    assert day is not None
    report = pipeline.run_daily(service, day, now=NOW, ingest=False, to=address)
    assert report.delivery is not None and report.delivery.sent == 1
    return text_part(outbox(service)[-1])


def archive_url(service: Service, address: str = "ada@example.org") -> str:
    row = row_of(service, address)
    return f"{BASE}/archive/{service.signer.sign('archive', row.id, row.email)}"


def set_delivery_state(service: Service, state: str) -> None:
    with service.db.session() as session:
        session.execute(update(Delivery).values(state=state))


def test_the_more_link_of_a_digest_lands_on_the_papers_the_cap_left_out(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    topics = (Topic("reinforcement learning"), Topic("LLM agents"), Topic("diffusion models"))
    set_profile(service, "ada@example.org", topics=topics, per_digest=2)
    text = send_digest(service)
    more = re.findall(rf"\+(\d+) more on (.+?): ({re.escape(BASE)}/archive/\S+)", text)
    assert more, "the digest has no +N more link"
    count, topic, url = more[0]
    html = client.get(url).text
    assert f"{count} more on {topic}" in html
    section = html[html.index(f"{count} more on {topic}") :].split("</section>")[0]
    sent_titles = re.findall(r"^\d+\. (.+)$", text, re.M)
    shown = re.findall(r'<h4 class="paper-title">(?:<a[^>]*>)?(.*?)<', section)
    assert len(shown) == min(int(count), 20)
    assert not set(shown) & {t.strip() for t in sent_titles}


def test_an_ambiguous_delivery_is_in_the_archive_a_failed_one_is_not(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    text = send_digest(service)
    day_url = re.search(rf"{re.escape(BASE)}/archive/\S+", text)
    assert day_url
    set_delivery_state(service, "ambiguous")
    assert "Your digest for" in client.get(day_url[0]).text
    set_delivery_state(service, "failed")
    assert client.get(day_url[0]).status_code == 404
    assert "No digest has been sent yet" in client.get(archive_url(service)).text


def test_the_feed_carries_every_paper_of_the_delivered_digests(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    send_digest(service)
    page = client.get(archive_url(service)).text
    feed_url = re.search(r'href="([^"]+/feed\.atom)"', page)
    assert feed_url, "the archive page does not link its feed"
    response = client.get(feed_url[1])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    with service.db.session() as session:
        sent = session.query(EditionItem).count()  # one subscriber: one edition
    assert sent >= 1 and len(parsed.entries) == sent
    assert all(e.id.startswith("tag:") for e in parsed.entries)
    assert parsed.feed.links[0].href == feed_url[1]


def test_feed_entry_ids_survive_a_new_token(service: Service, client: TestClient) -> None:
    confirmed(service, client)
    send_digest(service)
    first = feedparser.parse(client.get(archive_url(service) + "/feed.atom").content)
    row = row_of(service, "ada@example.org")
    other = service.signer.sign("archive", row.id, row.email, n=1)
    second = feedparser.parse(client.get(f"{BASE}/archive/{other}/feed.atom").content)
    assert [e.id for e in first.entries] == [e.id for e in second.entries]


def test_the_feed_is_well_formed_xml_with_hostile_titles(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    send_digest(service)
    with service.db.session() as session:
        session.execute(update(PaperRow).values(title="<b>x</b> & ]]> \"quoted\" 'it'"))
    root = ET.fromstring(client.get(archive_url(service) + "/feed.atom").content)
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert titles and set(titles) == {"<b>x</b> & ]]> \"quoted\" 'it'"}


def test_the_feed_refuses_a_tampered_or_wrong_purpose_link(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    good = archive_url(service)
    assert client.get(good + "/feed.atom").status_code == 200
    assert client.get(good[:-2] + "xx/feed.atom").status_code == 400
    manage_token = manage.rsplit("/", 1)[1]
    assert client.get(f"{BASE}/archive/{manage_token}/feed.atom").status_code == 400


def test_manage_links_the_feed(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    html = client.get(manage).text
    assert re.search(r'href="[^"]+/archive/[^"]+/feed\.atom"', html)


def html_part(service: Service) -> str:
    body = outbox(service)[-1].get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def test_the_day_page_has_the_emails_sections_once_in_its_order_with_jump_links(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    topics = (Topic("reinforcement learning"), Topic("LLM agents"), Topic("diffusion models"))
    set_profile(service, "ada@example.org", topics=topics, per_digest=5)
    text = send_digest(service)
    email_sections = re.findall(r'<h2 class="topic"[^>]*>([^<]+?)\s*(?:<|$)', html_part(service))
    assert len(email_sections) >= 2
    (url,) = set(re.findall(rf"View in browser: ({re.escape(BASE)}/archive/\S+)", text))
    html = client.get(url).text
    page_sections = re.findall(r'<h2 class="topic" id="[^"]+">([^<]+)</h2>', html)
    assert page_sections == [s.strip() for s in email_sections]
    jumps = re.findall(r'<nav class="jump".*?</nav>', html, re.S)[0]
    for anchor in re.findall(r'href="#([^"]+)"', jumps):
        assert f'id="{anchor}"' in html
    more_links = re.findall(rf"more on .+?: ({re.escape(BASE)}/archive/\S+)", text)
    assert more_links, "five slots for three topics leave some out"
    for link in more_links:
        page, anchor = link.split("#")
        assert page == url and f'id="{anchor}"' in html
