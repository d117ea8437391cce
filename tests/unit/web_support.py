"""Shared by the web unit tests: a service on a real SQLite file with sample papers, a TestClient,
and helpers that read the outbox folder and the pages' forms."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from digest import pipeline
from digest.config import Settings
from digest.resources import samples_dir
from digest.service import Service
from digest.store import subscribers
from digest.store.db import Database
from digest.web import create_app
from digest.web.limits import RateLimits

NOW = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)
SECRET = "web-test-secret"
BASE = "http://testserver"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SAMPLES = ("hf-daily-papers-2026-04-30.xml", "arxiv-rss-cs.LG-2026-04-27.xml")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    Database(url).upgrade()
    settings = Settings(
        database_url=url, outbox_dir=tmp_path / "outbox", base_url=BASE, secret_key=SECRET
    )
    service = Service.open(settings)
    pipeline.ingest_files(service, [samples_dir() / name for name in SAMPLES], now=NOW)
    yield service
    service.close()


def make_client(service: Service, limits: RateLimits | None = None) -> TestClient:
    app = create_app(service, clock=lambda: NOW, limits=limits)
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


@pytest.fixture
def client(service: Service) -> TestClient:
    return make_client(service)


def token_in(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match[1]


def csrf_token(client: TestClient, path: str = "/") -> str:
    return token_in(client.get(path).text)


def subscribe(
    client: TestClient, address: str, topics: str = "LLM agents", **extra: str
) -> httpx.Response:
    data = {"email": address, "topics": topics, "website": "", "csrf_token": csrf_token(client)}
    return client.post("/subscribe", data={**data, **extra})


def outbox(service: Service) -> list[EmailMessage]:
    messages = []
    for path in sorted(service.settings.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def text_part(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def confirm_link(service: Service) -> str:
    (message,) = [m for m in outbox(service) if "Confirm" in str(m["Subject"])]
    match = re.search(rf"{re.escape(BASE)}/confirm/\S+", text_part(message))
    assert match, "the confirm email has no confirm link on base_url"
    return match[0]


def confirmed(service: Service, client: TestClient, address: str = "ada@example.org") -> str:
    """Subscribe and confirm ``address``; returns the manage URL from the confirmed page."""
    subscribe(client, address)
    link = confirm_link(service)
    page = client.get(link)
    response = client.post(link, data={"csrf_token": token_in(page.text)})
    match = re.search(rf'href="({re.escape(BASE)}/manage/[^"]+)"', response.text)
    assert match
    return match[1]


def row_of(service: Service, address: str) -> subscribers.SubscriberRow:
    with service.db.session() as session:
        return subscribers.get_row(session, address)


def post_forms(html: str) -> int:
    return len(re.findall(r'<form[^>]*method="post"', html))
