"""A real `digest serve` stays healthy while two clients ask for topic pages back to back.

With about 4,200 papers in the window, every topic page ranks them all. Two clients each ask
for one random topic after another for 20 s (the site's ranking limit raised, so every page
ranks); all the while a third polls /healthz, which must answer every time in under a second
(the deploy's health check gives up at 5 s). Analysing the window takes seconds: shared by
the topic pages, it lets them answer by the hundred; analysed again for each, a handful.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.test_serve import digest, digest_script, free_port, wait_for
from tests.many_papers import random_topics, store_many_papers

PAPERS = 4_200
LOAD_SECONDS = 20.0
HEALTHZ_LIMIT = 1.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`digest serve --no-scheduler` on loopback over a database holding the papers."""
    database_url = f"sqlite:///{tmp_path / 'digest.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=database_url,
        DIGEST_SECRET_KEY="load-test-secret",
        DIGEST_OUTBOX_DIR=str(tmp_path / "outbox"),
        # Every request a client makes ranks: the site's own limit must not be what saves it.
        DIGEST_RANKED_PAGES_PER_MINUTE="100000",
    )
    digest(env, tmp_path, "db", "upgrade")
    store_many_papers(database_url, PAPERS, now=dt.datetime.now(dt.UTC))
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [digest_script(), "serve", "--no-scheduler", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            return False

    try:
        wait_for(answers, "/healthz to answer")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def ask_topics(base: str, seed: int, until: float, statuses: Counter[int]) -> None:
    """One client: random topic pages back to back until ``until``."""
    topics = iter(random_topics(seed))
    with httpx.Client(base_url=base, timeout=120) as client:
        while time.monotonic() < until:
            statuses[client.get("/topics/" + quote(next(topics), safe="")).status_code] += 1


def poll_healthz(base: str, until: float, seconds: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        while time.monotonic() < until:
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            seconds.append(time.monotonic() - started)
            time.sleep(0.2)


def test_healthz_stays_under_a_second_while_two_clients_ask_for_random_topics(
    served: str,
) -> None:
    until = time.monotonic() + LOAD_SECONDS
    statuses: Counter[int] = Counter()
    seconds: list[float] = []
    clients = [
        threading.Thread(target=ask_topics, args=(served, seed, until, statuses)) for seed in (1, 2)
    ]
    for thread in clients:
        thread.start()
    poll_healthz(served, until, seconds)
    for thread in clients:
        thread.join(timeout=180)
    print(
        f"\n/healthz over {len(seconds)} polls: max {max(seconds):.3f} s, median "
        f"{statistics.median(seconds):.3f} s; topic pages answered: {dict(statuses)}"
    )
    assert max(seconds) < HEALTHZ_LIMIT
    assert set(statuses) == {200}, "every topic page is a page (no 429: the limit is raised)"
    assert statuses[200] >= 20, "the window's analysis is not shared between topic pages"
