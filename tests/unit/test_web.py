"""The web site through Starlette's TestClient on a real SQLite file, mail to an outbox folder."""

from __future__ import annotations

import html as html_text
import re
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import text
from starlette.testclient import TestClient

from digest import pipeline
from digest.addresses import email_hash
from digest.config import Settings
from digest.models import FeedItem
from digest.service import Service
from digest.store import papers, subscribers, suppressions
from digest.store.schema import Feedback
from digest.tokens import DAY
from digest.web.limits import RateLimits
from digest.web.security import CONTENT_SECURITY_POLICY
from tests.unit.web_support import (
    BASE,
    NOW,
    SECRET,
    client,
    confirm_link,
    confirmed,
    csrf_token,
    make_client,
    outbox,
    post_forms,
    row_of,
    service,
    subscribe,
    text_part,
    token_in,
)

__all__ = ["client", "service"]


# --- home ---------------------------------------------------------------------------------


def test_home_has_the_subscribe_box_and_trending_papers(client: TestClient) -> None:
    html = client.get("/").text
    assert "Get trending papers in your email inbox once a day!" in html
    assert re.search(r'<input[^>]*type="email"[^>]*name="email"', html)
    assert '<textarea id="subscribe-topics" name="topics"' in html
    assert 'name="website"' in html and "csrf_token" in html
    assert html.count('class="paper"') > 5
    # why it is trending, in the wording the email uses (render/trend_words.py)
    assert re.search(r'<span class="badge">Trending</span> \d+ upvotes on Hugging Face', html)


def test_search_lists_only_papers_matching_every_word(client: TestClient) -> None:
    html = client.get("/", params={"q": "reinforcement learning"}).text
    titles = re.findall(r'<h3 class="paper-title">(.*?)</h3>', html, re.S)
    assert titles
    assert "Papers matching" in html
    assert client.get("/", params={"q": "zzqxnotaword"}).text.count('class="paper"') == 0


def test_browse_by_date_shows_that_days_window(client: TestClient) -> None:
    html = client.get("/", params={"date": "2026-04-27"}).text
    assert "Trending up to Mon 27 Apr" in html
    assert "That date was not understood" in client.get("/", params={"date": "nope"}).text


def test_feed_text_is_escaped(service: Service, client: TestClient) -> None:
    hostile = FeedItem(
        title="<script>alert(1)</script> Hostile paper", abstract="x", url="javascript:alert(1)"
    )
    with service.db.session() as session:
        papers.merge_feed_items(session, "evil", [hostile], now=NOW)
    html = client.get("/", params={"q": "Hostile"}).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html


# --- subscribe and confirm ---------------------------------------------------------------


def test_subscribe_mails_a_confirm_link_on_the_base_url(
    service: Service, client: TestClient
) -> None:
    response = subscribe(client, "Ada@Example.org", "LLM agents\nreinforcement learning")
    assert response.status_code == 200 and "Check your inbox" in response.text
    (message,) = outbox(service)
    assert message["To"] == "ada@example.org"
    assert confirm_link(service).startswith(f"{BASE}/confirm/")
    row = row_of(service, "ada@example.org")
    assert row.state == "unconfirmed"
    assert [t["text"] for t in row.profile["topics"]] == ["LLM agents", "reinforcement learning"]


def test_confirm_page_has_one_button_and_changes_nothing(
    service: Service, client: TestClient
) -> None:
    subscribe(client, "ada@example.org")
    html = client.get(confirm_link(service)).text
    assert post_forms(html) == 1 and html.count("<button") == 1
    assert row_of(service, "ada@example.org").state == "unconfirmed"


def test_confirm_post_confirms_and_records_consent(service: Service, client: TestClient) -> None:
    confirmed(service, client)
    row = row_of(service, "ada@example.org")
    assert row.state == "confirmed"
    assert row.confirmed_at == NOW
    assert row.consent_ip == "testclient"
    assert any("Welcome" in str(m["Subject"]) for m in outbox(service))


def test_the_answer_is_the_same_for_new_and_known_addresses(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client, "known@example.org")
    known = subscribe(client, "known@example.org")
    new = subscribe(client, "new@example.org")
    assert (known.status_code, known.text) == (new.status_code, new.text)


def test_subscribing_again_never_downgrades_a_confirmed_subscriber(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    before = len(outbox(service))
    subscribe(client, "ada@example.org", "something else")
    row = row_of(service, "ada@example.org")
    assert row.state == "confirmed"
    assert [t["text"] for t in row.profile["topics"]] == ["LLM agents"]
    newest = outbox(service)[before:]
    assert len(newest) == 1 and "/manage/" in text_part(newest[0])


def test_an_unsubscribed_address_changes_only_when_it_confirms(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    with service.db.session() as session:
        row = subscribers.get_row(session, "ada@example.org")
        subscribers.set_state(session, row, "unsubscribed", now=NOW)
    before = len(outbox(service))
    subscribe(client, "ada@example.org", "graph neural networks")
    row = row_of(service, "ada@example.org")
    assert row.state == "unsubscribed"
    assert [t["text"] for t in row.profile["topics"]] == ["LLM agents"]
    (message,) = outbox(service)[before:]
    link = re.search(rf"{re.escape(BASE)}/confirm/\S+", text_part(message))
    assert link
    page = client.get(link[0])
    client.post(link[0], data={"csrf_token": token_in(page.text)})
    row = row_of(service, "ada@example.org")
    assert row.state == "confirmed"
    assert [t["text"] for t in row.profile["topics"]] == ["graph neural networks"]


def test_too_many_sign_ups_for_one_address_get_429(service: Service) -> None:
    client = make_client(service, RateLimits(per_ip=100, per_address=2))
    assert subscribe(client, "ada@example.org").status_code == 200
    assert subscribe(client, "ADA@example.org").status_code == 200
    response = subscribe(client, "ada@example.org")
    assert response.status_code == 429
    assert len(outbox(service)) == 2


def test_too_many_sign_ups_from_one_client_get_429(service: Service) -> None:
    client = make_client(service, RateLimits(per_ip=2, per_address=100))
    assert subscribe(client, "a@example.org").status_code == 200
    assert subscribe(client, "b@example.org").status_code == 200
    assert subscribe(client, "c@example.org").status_code == 429


def test_a_filled_honeypot_sends_nothing(service: Service, client: TestClient) -> None:
    response = subscribe(client, "bot@example.org", website="http://spam.example")
    assert response.status_code == 200 and "Check your inbox" in response.text
    assert outbox(service) == []
    with service.db.session() as session:
        assert subscribers.find_row(session, "bot@example.org") is None


def test_an_invalid_address_is_a_form_error(service: Service, client: TestClient) -> None:
    response = subscribe(client, "not an address")
    assert response.status_code == 400
    assert "does not look like an email address" in response.text
    assert outbox(service) == []


@pytest.mark.parametrize("token", [None, "forged-token", "wrong-cookie"])
def test_a_form_without_a_valid_csrf_token_is_refused(
    service: Service, client: TestClient, token: str | None
) -> None:
    data = {"email": "ada@example.org", "topics": "x"}
    if token == "wrong-cookie":
        data["csrf_token"] = csrf_token(make_client(service))  # signed, for another browser
        client.get("/")
    elif token:
        data["csrf_token"] = token
    response = client.post("/subscribe", data=data)
    assert response.status_code == 403
    assert outbox(service) == []


def _old_token(purpose: str, subscriber_id: int, address: str, age: int) -> str:
    class OldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    serializer = URLSafeTimedSerializer(SECRET, salt=f"digest.{purpose}", signer=OldSigner)
    return str(serializer.dumps({"s": subscriber_id, "h": email_hash(address)[:16]}))


@pytest.mark.parametrize("kind", ["expired", "tampered", "wrong-purpose"])
def test_a_bad_confirm_link_gets_a_friendly_400(
    service: Service, client: TestClient, kind: str
) -> None:
    subscribe(client, "ada@example.org")
    link = confirm_link(service)
    sid = row_of(service, "ada@example.org").id
    if kind == "expired":
        link = f"{BASE}/confirm/{_old_token('confirm', sid, 'ada@example.org', 4 * DAY)}"
    elif kind == "tampered":
        link = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    else:
        link = f"{BASE}/confirm/{service.signer.sign('manage', sid, 'ada@example.org')}"
    response = client.get(link)
    assert response.status_code == 400
    assert "This link cannot be used" in response.text
    assert "Traceback" not in response.text
    assert ("expired" in response.text) == (kind == "expired")


# --- manage -------------------------------------------------------------------------------


def manage_form(html: str) -> dict[str, str]:
    """What the manage form would post as the page shows it: every field, as a browser reads it."""
    form = html[html.index('class="card manage-form"') :]
    form = form[: form.index("</form>")]
    values = {"csrf_token": token_in(html)}
    for name, typed in re.findall(
        r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S
    ):
        values[name] = html_text.unescape(typed)
    for tag in re.findall(r"<input [^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and ('type="radio"' not in tag or " checked" in tag):
            values[name[1]] = html_text.unescape(value[1]) if value else ""
    for name, options in re.findall(
        r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        values[name] = chosen[1] if chosen else re.findall(r'<option value="([^"]*)"', options)[0]
    return values


def test_manage_saves_topics_and_shows_the_new_preview(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    html = client.get(manage).text
    assert "Preview of your next digest" in html
    form = manage_form(html)
    form.update(topics="diffusion models:2\nvideo generation", exclude="medical imaging")
    form.update(send_hour="18", timezone="Europe/Berlin", frequency="weekly", weekday="fri")
    response = client.post(manage, data=form, follow_redirects=False)
    assert response.status_code == 303
    with service.db.session() as session:
        shown = subscribers.subscriber_json(subscribers.get_row(session, "ada@example.org"))
    assert shown["topics"] == ["diffusion models:2", "video generation"]
    assert shown["exclude"] == ["medical imaging"]
    assert (shown["send_hour"], shown["timezone"], shown["weekday"]) == (18, "Europe/Berlin", 4)
    page = client.get(response.headers["location"]).text
    assert "Saved." in page
    preview = page[page.index("preview-heading") :]
    assert '<h3 class="topic">diffusion models</h3>' in preview


def test_manage_refuses_an_unknown_time_zone(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    form.update(timezone="Mars/Olympus")
    response = client.post(manage, data=form)
    assert response.status_code == 400
    assert "unknown time zone" in response.text
    assert row_of(service, "ada@example.org").timezone == "UTC"


def test_export_gives_the_whole_profile_as_json(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    response = client.get(f"{manage}/export.json")
    assert response.headers["content-disposition"].startswith("attachment")
    data = response.json()
    assert data["email"] == "ada@example.org" and data["topics"] == ["LLM agents"]


def test_delete_removes_the_subscriber_after_one_more_button(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    page = client.get(f"{manage}/delete").text
    assert post_forms(page) == 1
    client.post(f"{manage}/delete", data={"csrf_token": token_in(page)})
    with service.db.session() as session:
        assert subscribers.find_row(session, "ada@example.org") is None
        assert "ada@example.org" in suppressions.suppression_list(session)
    assert client.get(manage).status_code == 400


# --- unsubscribe ---------------------------------------------------------------------------


def list_unsubscribe_url(message: EmailMessage) -> str:
    match = re.search(r"<(https?://[^>]+)>", str(message["List-Unsubscribe"]))
    assert match
    return match[1]


def test_one_click_unsubscribe_needs_no_cookie_or_csrf(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    url = list_unsubscribe_url(outbox(service)[-1])
    bare = make_client(service)  # a mail provider: no cookies, no page visited
    response = bare.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert row_of(service, "ada@example.org").state == "unsubscribed"


def test_unsubscribe_page_names_the_address_offers_less_mail_and_changes_nothing(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    html = client.get(list_unsubscribe_url(outbox(service)[-1])).text
    assert "ada@example.org" in html
    assert html.count('class="button danger"') == 1
    assert "One digest a week" in html and "Pause for four weeks" in html
    assert "/manage/" in html
    assert row_of(service, "ada@example.org").state == "confirmed"


@pytest.mark.parametrize("choice", ["weekly", "pause"])
def test_the_unsubscribe_page_can_make_it_weekly_or_pause_it(
    service: Service, client: TestClient, choice: str
) -> None:
    confirmed(service, client)
    url = list_unsubscribe_url(outbox(service)[-1])
    done = client.post(f"{url}/{choice}", data={"csrf_token": token_in(client.get(url).text)})
    assert done.status_code == 200 and "ada@example.org" in done.text
    row = row_of(service, "ada@example.org")
    assert row.state == "confirmed"
    if choice == "weekly":
        assert row.frequency == "weekly" and "every Monday" in done.text
    else:
        assert row.paused_until is not None and "Paused" in done.text
        assert (row.paused_until - row.created_at.date()).days in (27, 28)
    refused = client.post(f"{url}/{choice}", data={})
    assert refused.status_code == 403


def test_unsubscribe_then_resubscribe_from_the_result_page(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    url = list_unsubscribe_url(outbox(service)[-1])
    page = client.get(url).text
    done = client.post(url, data={"csrf_token": token_in(page)})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert row_of(service, "ada@example.org").state == "unsubscribed"
    again = client.post(f"{url}/resubscribe", data={"csrf_token": token_in(done.text)})
    assert again.status_code == 200
    assert row_of(service, "ada@example.org").state == "confirmed"


def test_unsubscribe_form_without_csrf_or_one_click_is_refused(
    service: Service, client: TestClient
) -> None:
    confirmed(service, client)
    response = client.post(list_unsubscribe_url(outbox(service)[-1]), data={})
    assert response.status_code == 403
    assert row_of(service, "ada@example.org").state == "confirmed"


# --- feedback and archive ------------------------------------------------------------------


@pytest.mark.parametrize("link", ["paper in the path", "paper in the token (older emails)"])
def test_feedback_asks_then_records(service: Service, client: TestClient, link: str) -> None:
    confirmed(service, client)
    row = row_of(service, "ada@example.org")
    with service.db.session() as session:
        paper = papers.list_papers(session)[0]
        subscriber = subscribers.get_subscriber_by_id(session, row.id)
    assert subscriber is not None
    if link == "paper in the path":
        links = service.links.for_subscriber(subscriber, paper_ids=(paper.id,))
        url = links.feedback[paper.id][0]
        assert client.get(url.replace("/more", "/sideways")).status_code == 400
    else:
        token = service.signer.sign("feedback", row.id, row.email, p=paper.id, d="more")
        url = f"{BASE}/feedback/{token}"
    page = client.get(url)
    assert page.status_code == 200 and post_forms(page.text) == 1
    client.post(url, data={"csrf_token": token_in(page.text)})
    client.post(url, data={"csrf_token": token_in(page.text)})
    with service.db.session() as session:
        rows = session.query(Feedback).all()
    assert [(f.subscriber_id, f.paper_id, f.direction) for f in rows] == [
        (row.id, paper.id, "more")
    ]


def test_archive_shows_the_digest_as_sent(service: Service, client: TestClient) -> None:
    confirmed(service, client)
    with service.db.session() as session:
        day = papers.newest_announcement(session)
    assert day is not None
    report = pipeline.run_daily(service, day, now=NOW, ingest=False)
    assert report.delivery is not None and report.delivery.sent == 1
    digest_email = outbox(service)[-1]
    archive = re.search(rf"{re.escape(BASE)}/archive/\S+", text_part(digest_email))
    assert archive
    html = client.get(archive[0]).text
    assert "Your digest for" in html and html.count('class="paper"') >= 1
    assert client.get(archive[0].rsplit("/", 1)[0] + "/2001-01-01").status_code == 404


# --- safety and health ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/style.css", "/no-such-page"])
def test_every_response_has_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"  # our own POSTs need their Origin
    assert headers["x-content-type-options"] == "nosniff"


def test_a_server_error_is_a_plain_500_page(service: Service, client: TestClient) -> None:
    with service.db.engine.begin() as connection:
        connection.execute(text("DROP TABLE sightings"))
    response = client.get("/")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    for leak in ("Traceback", "sightings", "OperationalError", "File "):
        assert leak not in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_healthz_reports_a_current_schema(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "schema": "current"}


def test_healthz_is_503_when_the_schema_is_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = Settings(database_url=url, outbox_dir=tmp_path, base_url=BASE, secret_key=SECRET)
    service = Service.open(settings, check_schema=False)
    response = make_client(service).get("/healthz")
    assert response.status_code == 503
    assert response.json()["schema"] == "behind"
