"""A real `digest serve` behind a real reverse proxy that is not on 127.0.0.1.

The proxy (a small threaded HTTP forwarder here, doing what nginx's ``proxy_add_x_forwarded_for``
does) listens on 127.0.0.1 and reaches the app from 127.0.0.5, the one address in
DIGEST_TRUSTED_PROXIES. Visitors connect to it from 127.0.0.2 and 127.0.0.3 (Linux routes all
of 127.0.0.0/8 to loopback). Each must get an allowance of its own, whatever address it writes
into X-Forwarded-For itself, and /metrics must not answer through the proxy.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import digest, digest_script, free_port, wait_for
from tests.many_papers import store_many_papers

PROXY_SOURCE = "127.0.0.5"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}
METRICS_TOKEN = "metrics-token-for-the-proxy-test"


class Forwarder(BaseHTTPRequestHandler):
    """Forwards each request to ``server.upstream``, appending the peer to X-Forwarded-For."""

    server: ProxyServer

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        chain = ", ".join([*self.headers.get_all("x-forwarded-for", []), self.client_address[0]])
        headers.append(("X-Forwarded-For", chain))
        answer = self.server.upstream.request(
            self.command, self.path, headers=headers, content=body
        )
        self.send_response(answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in HOP_BY_HOP | {"content-length", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


class ProxyServer(ThreadingHTTPServer):
    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), Forwarder)
        transport = httpx.HTTPTransport(local_address=PROXY_SOURCE)
        self.upstream = httpx.Client(base_url=upstream, transport=transport, timeout=60)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class Site:
    def __init__(self, tmp_path: Path, **settings: str) -> None:
        database_url = f"sqlite:///{tmp_path / 'digest.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env.update(
            DIGEST_DATABASE_URL=database_url,
            DIGEST_SECRET_KEY="proxy-test-secret",
            DIGEST_OUTBOX_DIR=str(tmp_path / "outbox"),
            DIGEST_TRUSTED_PROXIES=PROXY_SOURCE,
            DIGEST_RANKED_PAGES_PER_MINUTE="2",
            **settings,
        )
        if not (tmp_path / "digest.db").exists():
            digest(env, tmp_path, "db", "upgrade")
            store_many_papers(database_url, 60, now=dt.datetime.now(dt.UTC))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log_path = tmp_path / f"serve-{self.url.rsplit(':', 1)[1]}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [digest_script(), "serve", "--no-scheduler", "--port", self.url.rsplit(":")[-1]],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=log,
            )
        wait_for(self.answers, "/healthz to answer")
        self.proxy = ProxyServer(self.url)
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()

    def answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            assert self.process.poll() is None, self.log_path.read_text()
            return False

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.upstream.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    sites: list[Site] = []

    def started(**settings: str) -> Site:
        site = Site(tmp_path, **settings)
        sites.append(site)
        return site

    yield started
    for site in sites:
        site.stop()


def visitor(address: str, base: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=60)


def test_each_visitor_behind_the_proxy_has_its_own_allowance(start: Callable[..., Site]) -> None:
    site = start()
    with visitor("127.0.0.2", site.proxy.url) as ada, visitor("127.0.0.3", site.proxy.url) as bo:
        assert [ada.get(f"/topics/{t}").status_code for t in ("agents", "robots")] == [200, 200]
        spoof = {"x-forwarded-for": "198.51.100.77"}  # written by ada, appended to by the proxy
        assert ada.get("/topics/diffusion", headers=spoof).status_code == 429
        assert bo.get("/topics/diffusion").status_code == 200
    site.stop()
    access_log = site.log_path.read_text()
    assert "127.0.0.2:0" in access_log and "127.0.0.3:0" in access_log
    assert PROXY_SOURCE not in access_log


def test_metrics_never_answer_through_the_proxy_without_the_token(
    start: Callable[..., Site],
) -> None:
    site = start()
    with visitor("127.0.0.2", site.proxy.url) as outsider:
        assert outsider.get("/metrics").status_code == 404
    with visitor("127.0.0.2", site.url) as direct:
        assert direct.get("/metrics", headers={"x-forwarded-for": "127.0.0.1"}).status_code == 404
    assert httpx.get(f"{site.url}/metrics", timeout=10).status_code == 200  # the operator


def test_metrics_answer_the_bearer_token_through_the_proxy(start: Callable[..., Site]) -> None:
    site = start(DIGEST_METRICS_TOKEN=METRICS_TOKEN)
    with visitor("127.0.0.2", site.proxy.url) as prometheus:
        assert prometheus.get("/metrics").status_code == 401
        wrong = {"authorization": "Bearer metrics-token-for-the-proxy-tesT"}
        assert prometheus.get("/metrics", headers=wrong).status_code == 401
        right = {"authorization": f"Bearer {METRICS_TOKEN}"}
        answer = prometheus.get("/metrics", headers=right)
        assert answer.status_code == 200 and "digest_outbox_deliveries" in answer.text
