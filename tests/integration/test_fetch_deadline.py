"""A feed that trickles cannot hold a run: each fetch has one deadline for headers and body.

A loopback server sends its headers a line a second, or its body a byte a second: every read
succeeds within any per-read timeout, so only a wall-clock deadline on the whole request stops it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from digest.errors import FeedError
from digest.ingest.fetch import fetch
from tests.conftest import invoke_cli

FIXTURES = Path(__file__).parent.parent / "fixtures"
LISTING = FIXTURES / "arxiv-rss" / "cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"
TRICKLE_STEPS = 120  # a bound on every loop: two minutes at one step a second


class TrickleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TrickleHandler)
        self.stop = threading.Event()


class TrickleHandler(BaseHTTPRequestHandler):
    server: TrickleServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if self.path == "/trickle-headers":
                self.trickle_headers()
            elif self.path == "/trickle-body":
                self.trickle_body()
            else:
                body = LISTING.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    def trickle_headers(self) -> None:
        """One header line a second; the headers would end (with a real feed) after 2 min."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        for step in range(TRICKLE_STEPS):
            if self.server.stop.wait(1.0):
                return
            self.wfile.write(f"X-Trickle-{step}: x\r\n".encode())
            self.wfile.flush()
        body = LISTING.read_bytes()
        self.wfile.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def trickle_body(self) -> None:
        """Prompt headers, then the real feed one byte a second."""
        body = LISTING.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body[:TRICKLE_STEPS]:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server.stop.wait(1.0):
                return
        self.wfile.write(body[TRICKLE_STEPS:])


@pytest.fixture
def server() -> Iterator[TrickleServer]:
    httpd = TrickleServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()


def url(server: TrickleServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.mark.parametrize(
    ("path", "phase"), [("/trickle-headers", "headers"), ("/trickle-body", "body")]
)
def test_a_trickling_feed_fails_at_its_deadline(
    server: TrickleServer, path: str, phase: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FeedError, match=rf"timed out after 1.5 s .*{phase}"):
        fetch(url(server, path), timeout=1.5)
    assert time.monotonic() - started < 3.0


def test_cli_ingest_with_two_trickling_sources_finishes_in_time(
    server: TrickleServer, tmp_path: Path
) -> None:
    """The issue's pass: DIGEST_HTTP_TIMEOUT=5, two trickling sources and a good one, < 30 s."""
    env = {
        "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}",
        "DIGEST_SECRET_KEY": "cli-test-key",
        "DIGEST_HTTP_TIMEOUT": "5",
    }
    invoke_cli(env, "db", "upgrade")
    for name in ("headers", "body"):
        invoke_cli(env, "sources", "add", url(server, f"/trickle-{name}"), "--name", name)
    invoke_cli(env, "sources", "add", url(server, "/good"), "--name", "good")
    started = time.monotonic()
    output = invoke_cli(env, "ingest", "--host-delay", "0")
    elapsed = time.monotonic() - started
    assert elapsed < 30.0, f"ingest took {elapsed:.1f} s"
    assert "good: new 3" in output
    health = {row["name"]: row for row in json.loads(invoke_cli(env, "sources", "list", "--json"))}
    assert health["good"]["items_last_seen"] == 3 and not health["good"]["last_error"]
    for name in ("headers", "body"):
        assert health[name]["consecutive_failures"] == 1
        assert f"timed out after 5 s waiting for the {name}" in health[name]["last_error"]
