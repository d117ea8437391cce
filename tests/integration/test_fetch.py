"""fetch() against a real HTTP server on 127.0.0.1: conditional GET, timeouts, caps, retries."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from digest.errors import FeedError
from digest.ingest.fetch import FetchResult, fetch, retry_delay

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1-abc"'
LAST_MODIFIED = "Mon, 27 Apr 2026 04:00:02 GMT"
FIFTY_MB = 50 * 1024 * 1024


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: dict[str, int] = {}
        self.headers_seen: list[dict[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?")[0]
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        self.server.headers_seen.append(dict(self.headers.items()))
        route = getattr(self, "route_" + path.strip("/").replace("-", "_"), None)
        if route is None:
            self.send_error(404)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route()  # the client may hang up on purpose (size cap, timeout)

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_feed(self) -> None:
        if self.headers.get("If-None-Match") == ETAG:
            self.reply(304, ETag=ETAG)
        else:
            self.reply(200, FEED, ETag=ETAG, Last_Modified=LAST_MODIFIED)

    def route_slow(self) -> None:
        time.sleep(2.0)
        self.reply(200, FEED)

    def route_endless(self) -> None:
        self.send_response(200)
        self.end_headers()  # no Content-Length: the client only learns the size by reading
        chunk = b"x" * 65536
        for _ in range(FIFTY_MB // len(chunk)):
            self.wfile.write(chunk)

    def route_declared_huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(FIFTY_MB))
        self.end_headers()
        self.wfile.write(b"x" * 1024)

    def route_gzip(self) -> None:
        self.reply(200, gzip.compress(FEED), Content_Encoding="gzip")

    def route_rate_limited(self) -> None:
        if self.server.hits["/rate-limited"] == 1:
            self.reply(429, b"slow down", Retry_After="7")
        else:
            self.reply(200, FEED)

    def route_unavailable(self) -> None:
        self.reply(503, b"down", Retry_After="120")

    def route_loop(self) -> None:
        self.reply(302, Location="/loop")

    def route_moved(self) -> None:
        self.reply(301, Location="/feed")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    httpd = FeedServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def url(server: FeedServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep({seconds})")


def test_fetch_returns_body_etag_and_last_modified(server: FeedServer) -> None:
    result = fetch(url(server, "/feed"), sleep=no_sleep)
    assert result == FetchResult(FEED, 200, ETAG, LAST_MODIFIED, False, url(server, "/feed"))


def test_fetch_sends_conditional_headers_and_reads_304(server: FeedServer) -> None:
    result = fetch(url(server, "/feed"), etag=ETAG, last_modified=LAST_MODIFIED, sleep=no_sleep)
    assert (result.status, result.not_modified, result.body, result.etag) == (304, True, None, ETAG)
    assert server.headers_seen[-1]["If-Modified-Since"] == LAST_MODIFIED


def test_fetch_sends_the_user_agent(server: FeedServer) -> None:
    fetch(url(server, "/feed"), user_agent="digest-test/1", sleep=no_sleep)
    assert server.headers_seen[-1]["User-Agent"] == "digest-test/1"


def test_fetch_times_out_on_a_slow_server(server: FeedServer) -> None:
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"timed out after 0.3 s"):
        fetch(url(server, "/slow"), timeout=0.3, sleep=no_sleep)
    assert time.monotonic() - started < 1.5


def test_fetch_aborts_a_streamed_body_past_the_cap(server: FeedServer) -> None:
    with pytest.raises(FeedError, match="body larger than 1000000 bytes"):
        fetch(url(server, "/endless"), max_bytes=1_000_000, sleep=no_sleep)


def test_fetch_refuses_a_declared_length_past_the_cap(server: FeedServer) -> None:
    with pytest.raises(FeedError, match="body larger than 20000000 bytes"):
        fetch(url(server, "/declared-huge"), sleep=no_sleep)


def test_fetch_decodes_gzip(server: FeedServer) -> None:
    assert fetch(url(server, "/gzip"), sleep=no_sleep).body == FEED


def test_fetch_retries_429_after_retry_after(server: FeedServer) -> None:
    slept: list[float] = []
    result = fetch(url(server, "/rate-limited"), sleep=slept.append)
    assert (result.status, result.body, slept) == (200, FEED, [7.0])
    assert server.hits["/rate-limited"] == 2


def test_fetch_gives_up_after_two_retries_with_capped_waits(server: FeedServer) -> None:
    slept: list[float] = []
    with pytest.raises(FeedError, match="HTTP 503"):
        fetch(url(server, "/unavailable"), sleep=slept.append)
    assert slept == [30.0, 30.0]
    assert server.hits["/unavailable"] == 3


def test_fetch_reports_404(server: FeedServer) -> None:
    with pytest.raises(FeedError, match="HTTP 404"):
        fetch(url(server, "/missing"), sleep=no_sleep)


def test_fetch_follows_a_redirect_and_reports_the_final_url(server: FeedServer) -> None:
    result = fetch(url(server, "/moved"), sleep=no_sleep)
    assert (result.body, result.final_url) == (FEED, url(server, "/feed"))


def test_fetch_stops_a_redirect_loop(server: FeedServer) -> None:
    with pytest.raises(FeedError, match="more than 5 redirects"):
        fetch(url(server, "/loop"), sleep=no_sleep)
    assert server.hits["/loop"] == 6


def test_fetch_reports_a_refused_connection() -> None:
    probe = FeedServer()
    port = probe.server_address[1]
    probe.server_close()
    with pytest.raises(FeedError, match="cannot fetch"):
        fetch(f"http://127.0.0.1:{port}/feed", timeout=2, sleep=no_sleep)


def test_fetch_reads_a_local_path_and_a_file_url(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    assert fetch(str(path)).body == FEED
    assert fetch(path.as_uri()).body == FEED


def test_fetch_caps_local_files(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(FeedError, match="body larger than 1024 bytes"):
        fetch(str(path), max_bytes=1024)


def test_fetch_reports_a_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read"):
        fetch(str(tmp_path / "absent.xml"))


def test_fetch_refuses_other_schemes() -> None:
    with pytest.raises(FeedError, match="unsupported URL scheme"):
        fetch("ftp://example.org/feed.xml")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 1.0),
        ("3", 3.0),
        ("3600", 30.0),
        ("soon", 1.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_delay_honours_and_caps_retry_after(header: str | None, expected: float) -> None:
    assert retry_delay(header, 0) == expected
