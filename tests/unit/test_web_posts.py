"""Every POST that sends mail or changes state: the manage save's email, rate limits, safe logs."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from starlette.testclient import TestClient

from digest.service import Service
from digest.store import papers
from digest.web.limits import RateLimits
from digest.web.pages import log_safe
from tests.unit.test_web import manage_form
from tests.unit.web_support import (
    BASE,
    client,
    confirmed,
    make_client,
    outbox,
    row_of,
    service,
    text_part,
    token_in,
)

__all__ = ["client", "service"]

ADA = "ada@example.org"


def subjects(service: Service) -> list[str]:
    return [str(m["Subject"]) for m in outbox(service)]


def test_saving_preferences_mails_the_address_a_note(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    form.update(topics="diffusion models")
    client.post(manage, data=form)
    note = outbox(service)[-1]
    assert "preferences were updated" in str(note["Subject"])
    assert note["To"] == ADA
    assert re.search(rf"{re.escape(BASE)}/manage/\S+", text_part(note))


def test_saving_unchanged_preferences_mails_nothing(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    client.post(manage, data=form)
    before = len(outbox(service))
    client.post(manage, data=form)
    assert len(outbox(service)) == before


def test_pause_until_is_saved_and_cleared(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    client.post(manage, data={**form, "paused_until": "2026-06-01"})
    assert row_of(service, ADA).paused_until == dt.date(2026, 6, 1)
    assert 'value="2026-06-01"' in client.get(manage).text
    client.post(manage, data={**form, "paused_until": ""})
    assert row_of(service, ADA).paused_until is None


def _manage_save(service: Service, client: TestClient, manage: str, unsubscribe: str) -> str:
    form = manage_form(client.get(manage).text)
    form.update(topics=f"topic {len(outbox(service))}")
    return str(client.post(manage, data=form, follow_redirects=False).status_code)


def _unsubscribe_form(service: Service, client: TestClient, manage: str, unsubscribe: str) -> str:
    page = client.get(unsubscribe).text
    return str(client.post(unsubscribe, data={"csrf_token": token_in(page)}).status_code)


def _resubscribe(service: Service, client: TestClient, manage: str, unsubscribe: str) -> str:
    page = client.get(unsubscribe).text
    response = client.post(f"{unsubscribe}/resubscribe", data={"csrf_token": token_in(page)})
    return str(response.status_code)


def _feedback(service: Service, client: TestClient, manage: str, unsubscribe: str) -> str:
    row = row_of(service, ADA)
    with service.db.session() as session:
        paper = papers.list_papers(session)[0]
    url = f"{BASE}/feedback/{service.signer.sign('feedback', row.id, ADA, p=paper.id, d='more')}"
    page = client.get(url).text
    return str(client.post(url, data={"csrf_token": token_in(page)}).status_code)


def _delete(service: Service, client: TestClient, manage: str, unsubscribe: str) -> str:
    page = client.get(f"{manage}/delete").text
    return str(client.post(f"{manage}/delete", data={"csrf_token": token_in(page)}).status_code)


POSTS = {
    "manage": _manage_save,
    "unsubscribe": _unsubscribe_form,
    "resubscribe": _resubscribe,
    "feedback": _feedback,
    "delete": _delete,
}


@pytest.mark.parametrize("action", sorted(POSTS))
def test_each_state_changing_post_is_limited_per_client(service: Service, action: str) -> None:
    client = make_client(service, limits=RateLimits(posts={action: 0}))
    manage = confirmed(service, client)
    row = row_of(service, ADA)
    unsubscribe = f"{BASE}/unsubscribe/{service.signer.sign('unsubscribe', row.id, ADA)}"
    if action == "resubscribe":
        client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    before = row_of(service, ADA)
    mails = len(outbox(service))
    assert POSTS[action](service, client, manage, unsubscribe) == "429"
    after = row_of(service, ADA)
    assert (after.state, after.profile) == (before.state, before.profile)
    assert len(outbox(service)) == mails


def test_the_confirm_button_is_limited_per_client(service: Service) -> None:
    client = make_client(service, limits=RateLimits(posts={"confirm": 0}))
    data = {"email": ADA, "topics": "x", "website": ""}
    page = client.get("/").text
    client.post("/subscribe", data={**data, "csrf_token": token_in(page)})
    (message,) = outbox(service)
    link = re.search(rf"{re.escape(BASE)}/confirm/\S+", text_part(message))
    assert link
    confirm_page = client.get(link[0]).text
    response = client.post(link[0], data={"csrf_token": token_in(confirm_page)})
    assert response.status_code == 429 and response.headers["retry-after"]
    assert row_of(service, ADA).state == "unconfirmed"


def test_one_click_unsubscribe_is_never_limited_per_client(service: Service) -> None:
    client = make_client(service, limits=RateLimits(posts={"unsubscribe": 0}))
    confirmed(service, client)
    row = row_of(service, ADA)
    url = f"{BASE}/unsubscribe/{service.signer.sign('unsubscribe', row.id, ADA)}"
    response = make_client(service).post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert row_of(service, ADA).state == "unsubscribed"


def test_a_request_path_cannot_forge_a_log_line(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(service)
    with service.db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE sightings")
    with caplog.at_level(logging.ERROR, logger="digest.web"):
        response = client.get("/topics/x%0D2026-04-30 INFO forged line%09")
        assert response.status_code == 500
    assert caplog.records, "the server error was not logged"
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message


def test_log_safe_escapes_control_characters_and_caps_length() -> None:
    assert log_safe("a\nb\rc\x1b[31m") == "a\\nb\\rc\\x1b[31m"
    assert log_safe("x" * 500, limit=10) == "x" * 10 + "…"
