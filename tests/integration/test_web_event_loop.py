"""The web server's event loop stays free while a page waits on the database.

The app runs under uvicorn on loopback against PostgreSQL. Another connection locks the table a
page needs, so that page waits inside the database for as long as the test holds the lock; all
the while /healthz (which reads only the schema version) must answer. A handler that called the
database on the event loop would stall every other request until the lock was released.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from digest import pipeline
from digest.config import Settings
from digest.resources import samples_dir
from digest.service import Service
from digest.store import papers, subscribers
from digest.store.db import Database
from digest.web import create_app
from tests.web_server import LoopbackPort, assert_healthz_answers

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)
SAMPLES = ("hf-daily-papers-2026-04-30.xml", "arxiv-rss-cs.LG-2026-04-27.xml")
READER = "reader@example.org"
HEALTHZ_SECONDS = 5.0  # far above a free loop's answer, far below the lock's hold
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    url: str
    service: Service
    database_url: str  # plain libpq form, for the test's own connections

    def link(self, purpose: str) -> str:
        with self.service.db.session() as session:
            reader = subscribers.to_subscriber(subscribers.get_row(session, READER))
        return self.service.signer.sign(purpose, reader.id, reader.email)

    def paper_id(self) -> int:
        with self.service.db.session() as session:
            (paper, *_) = papers.papers_in_window(session, NOW.date(), 7)
        return paper.id


@pytest.fixture
def site(postgres_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app under uvicorn in a thread on an ephemeral loopback port, with papers and a reader."""
    port = LoopbackPort()
    url = port.url
    Database(postgres_url).upgrade()
    settings = Settings(
        database_url=postgres_url, outbox_dir=tmp_path / "outbox", base_url=url, secret_key="loop"
    )
    service = Service.open(settings)
    pipeline.ingest_files(service, [samples_dir() / name for name in SAMPLES], now=NOW)
    with service.db.session() as session:
        subscribers.upsert_subscriber(session, READER, now=NOW, state="confirmed")
    with port.serving(create_app(service)):
        yield Site(url, service, postgres_url.replace("+psycopg", ""))
    service.close()


@dataclass(frozen=True)
class Busy:
    """One request that will wait on the locked table (built before the lock is taken)."""

    method: str
    path: str
    data: dict[str, str] | None = None


def csrf_token(client: httpx.Client) -> str:
    """A form token for the client's CSRF cookie (the sign-up form reads no database)."""
    match = CSRF.search(client.get("/subscribe").text)
    assert match
    return match[1]


def sign_up(site: Site, csrf: str) -> Busy:
    data = {"email": "new@example.org", "topics": "agents", "website": "", "csrf_token": csrf}
    return Busy("POST", "/subscribe", data)


def vote_more(site: Site, csrf: str) -> Busy:
    path = f"/feedback/{site.link('feedback')}/{site.paper_id()}/more"
    return Busy("POST", path, {"csrf_token": csrf})


def one_click(site: Site, csrf: str) -> Busy:
    path = f"/unsubscribe/{site.link('unsubscribe')}"
    return Busy("POST", path, {"List-Unsubscribe": "One-Click"})


CASES: dict[str, tuple[str, Callable[[Site, str], Busy]]] = {
    # name: (the table another connection locks, the request that then waits on it)
    "home page ranks trending": ("papers", lambda site, csrf: Busy("GET", "/")),
    "topic page ranks": ("papers", lambda site, csrf: Busy("GET", "/topics/agents")),
    "manage page previews": (
        "papers",
        lambda site, csrf: Busy("GET", f"/manage/{site.link('manage')}"),
    ),
    "archive page verifies its link": (
        "subscribers",
        lambda site, csrf: Busy("GET", f"/archive/{site.link('archive')}"),
    ),
    "one-click POST verifies its link": ("subscribers", one_click),
    "feedback POST records the vote": ("feedback", vote_more),
    "sign-up POST records the address": ("subscribers", sign_up),
}


def wait_until_blocked(database_url: str) -> None:
    """Until some session of this database waits for a lock (the page is inside the database)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with psycopg.connect(database_url, autocommit=True) as probe:
        for _ in range(200):
            row = probe.execute(query).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the page never waited on the locked table")


@pytest.mark.parametrize("case", list(CASES))
def test_healthz_answers_while_a_page_waits_on_the_database(site: Site, case: str) -> None:
    table, build = CASES[case]
    with httpx.Client(base_url=site.url, timeout=60) as client:
        busy = build(site, csrf_token(client))
        with psycopg.connect(site.database_url) as locker, ThreadPoolExecutor(1) as pool:
            locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            try:
                answer = pool.submit(client.request, busy.method, busy.path, data=busy.data)
                wait_until_blocked(site.database_url)
                assert_healthz_answers(site.url, within=HEALTHZ_SECONDS, behind=busy.path)
                assert not answer.done(), "the page did not wait for the lock"
            finally:
                locker.rollback()
            assert answer.result(timeout=60).status_code == 200
