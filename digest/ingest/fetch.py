"""The only network code: one GET with timeouts, a size cap, conditional headers and polite retries.

A feed server that is slow, huge, rate-limiting or gone must cost one FeedError with a reason a
person can act on, never a hung run or a full disk. Local paths and file:// URLs are read too, so
demos and tests need no server.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from digest.errors import FeedError
from digest.ingest.kinds import host_delay

MAX_REDIRECTS = 5
RETRIES = 2  # after the first attempt, on 429 and 5xx
RETRY_AFTER_CAP = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


class HostPacer:
    """Spaces requests to one host across every source of a run (arXiv's API: 3 s apart).

    One pacer is shared by all fetches of a run, so ten feeds on one server are not ten
    simultaneous hits. ``clock`` and ``sleep`` are there so tests can check the waits.
    """

    def __init__(
        self,
        delay: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delay = delay
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}

    def wait(self, url: str) -> float:
        """Sleep until this URL's host may be asked again; returns the seconds slept."""
        host = (urlsplit(url).hostname or "").lower()
        gap = host_delay(url, self.delay)
        last = self._last.get(host)
        remaining = 0.0 if last is None else last + gap - self._clock()
        if remaining > 0:
            self._sleep(remaining)
        self._last[host] = self._clock()
        return max(remaining, 0.0)


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned; ``body`` is None when the server said 304 Not Modified."""

    body: bytes | None
    status: int
    etag: str | None
    last_modified: str | None
    not_modified: bool
    final_url: str


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 20.0,
    max_bytes: int = 20_000_000,
    user_agent: str = "digest/0.1 (+mailto:digest@localhost)",
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    pacer: HostPacer | None = None,
) -> FetchResult:
    """GET one feed. Raises FeedError with a one-line reason on any failure.

    Pass the ``etag``/``last_modified`` from the previous FetchResult to get a cheap 304. The
    byte cap applies to the decoded body, so a gzip bomb is stopped too. ``sleep`` is there so
    tests need not wait for Retry-After; ``pacer`` spaces requests per host.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        headers = {"User-Agent": user_agent, "Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if client is not None:
            return _fetch_http(client, url, headers, timeout, max_bytes, sleep, pacer)
        with httpx.Client(max_redirects=MAX_REDIRECTS, follow_redirects=True) as own:
            return _fetch_http(own, url, headers, timeout, max_bytes, sleep, pacer)
    if scheme == "file" or scheme == "" or (len(scheme) == 1 and url[1:2] == ":"):
        return _read_local(url, max_bytes)
    raise FeedError(f"unsupported URL scheme {scheme!r} in {url[:200]}")


def _read_local(url: str, max_bytes: int) -> FetchResult:
    path = Path(unquote(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise FeedError(f"body larger than {max_bytes} bytes: {path}")
    return FetchResult(body, 200, None, None, False, url)


def _fetch_http(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    timeout: float,
    max_bytes: int,
    sleep: Callable[[float], None],
    pacer: HostPacer | None,
) -> FetchResult:
    limits = httpx.Timeout(timeout)
    for attempt in range(RETRIES + 1):
        if pacer is not None:
            pacer.wait(url)
        try:
            with client.stream("GET", url, headers=headers, timeout=limits) as response:
                if response.status_code in RETRY_STATUSES and attempt < RETRIES:
                    delay = retry_delay(response.headers.get("Retry-After"), attempt)
                else:
                    return _result(response, url, max_bytes, timeout)
        except httpx.TimeoutException:
            raise FeedError(f"timed out after {timeout:g} s: {url[:200]}") from None
        except httpx.TooManyRedirects:
            raise FeedError(f"more than {MAX_REDIRECTS} redirects: {url[:200]}") from None
        except httpx.HTTPError as exc:
            raise FeedError(f"cannot fetch {url[:200]}: {type(exc).__name__} {exc}") from None
        sleep(delay)
    raise AssertionError("unreachable: the last attempt always returns or raises")


def _result(response: httpx.Response, url: str, max_bytes: int, timeout: float) -> FetchResult:
    status = response.status_code
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if status == 304:
        return FetchResult(None, 304, etag, last_modified, True, str(response.url))
    if status >= 400:
        raise FeedError(f"HTTP {status} from {url[:200]}")
    declared = response.headers.get("Content-Length", "")
    if (
        declared.isdigit()
        and int(declared) > max_bytes
        and "Content-Encoding" not in response.headers
    ):
        raise FeedError(f"body larger than {max_bytes} bytes: {url[:200]}")
    deadline = time.monotonic() + 4 * timeout
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FeedError(f"body larger than {max_bytes} bytes: {url[:200]}")
        if time.monotonic() > deadline:
            raise FeedError(f"timed out after {4 * timeout:g} s reading the body: {url[:200]}")
        chunks.append(chunk)
    return FetchResult(b"".join(chunks), status, etag, last_modified, False, str(response.url))


def retry_delay(retry_after: str | None, attempt: int) -> float:
    """Seconds to wait before retrying: the server's Retry-After (seconds or HTTP date), capped."""
    default = float(2**attempt)
    if not retry_after:
        return default
    value = retry_after.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)
