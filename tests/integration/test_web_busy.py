"""/healthz answers at once even when slow pages hold every thread of the shared pool.

The app runs under uvicorn on loopback. The test holds the one ranking slot, then sends more
topic requests than Starlette's thread pool has threads: each waits in a pool thread for the
slot. /healthz has threads of its own, so it must answer while they all wait; on the shared
pool it would queue behind them until their wait for the slot ran out.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from digest.config import Settings
from digest.service import Service
from digest.store.db import Database
from digest.web import create_app
from digest.web.limits import RateLimits
from tests.many_papers import store_many_papers
from tests.web_server import LoopbackPort, assert_healthz_answers

POOL_THREADS = 40  # anyio's default for Starlette's thread pool
HEALTHZ_SECONDS = 2.0


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[tuple[Starlette, str]]:
    port = LoopbackPort()
    url = port.url
    database_url = f"sqlite:///{tmp_path / 'busy.db'}"
    Database(database_url).upgrade()
    store_many_papers(database_url, 50, now=dt.datetime.now(dt.UTC))
    settings = Settings(
        database_url=database_url, outbox_dir=tmp_path / "outbox", base_url=url, secret_key="b"
    )
    service = Service.open(settings)
    app = create_app(service, limits=RateLimits(ranked_per_minute=10**6))
    with port.serving(app):
        yield app, url
    service.close()


def test_healthz_answers_while_every_pool_thread_waits_for_the_ranking_slot(
    app_url: tuple[Starlette, str],
) -> None:
    app, url = app_url
    rankings = app.state.web.rankings
    rankings.wait = 15.0
    with ThreadPoolExecutor(POOL_THREADS + 5) as pool:
        with rankings.slot():
            waiting = [
                pool.submit(httpx.get, f"{url}/topics/topic{n}", timeout=60)
                for n in range(POOL_THREADS + 5)
            ]
            time.sleep(1.0)  # let them all reach the slot
            assert_healthz_answers(url, within=HEALTHZ_SECONDS, behind="the ranking pages")
            assert not any(f.done() for f in waiting), "the topic pages did not wait"
        assert {f.result().status_code for f in waiting} == {200}
