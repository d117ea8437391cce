"""The only network code: one GET with a deadline, a size cap, conditional headers and retries.

A feed server that is slow, huge, rate-limiting or gone must cost one FeedError with a reason a
person can act on, never a hung run or a full disk. Local paths and file:// URLs are read too,
under the same cap, so demos and tests need no server.

The deadline covers the whole request (connect, redirects, headers and body). httpx's timeouts
are per operation, so a server that trickles a header line or a body byte a second never trips
them; the request therefore runs on a private event loop under ``asyncio.timeout``, whose
cancellation closes the connection wherever the request happens to be.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import stat
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx

from digest.errors import FeedError
from digest.ingest.kinds import host_delay

FEED_MAX_BYTES = 20_000_000  # one feed document, fetched or read from a file
MAX_REDIRECTS = 5
RETRIES = 2  # after the first attempt, on 429 and 5xx
RETRY_AFTER_CAP = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
T = TypeVar("T")


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


@dataclass(frozen=True)
class _Retry:
    """An answer worth asking again (429, 5xx): only the server's Retry-After is kept."""

    retry_after: str | None


class _Progress:
    """How far one request got, so a timeout can say where it stalled."""

    def __init__(self) -> None:
        self.phase = "headers"
        self.received = 0

    def __str__(self) -> str:
        if self.phase == "headers":
            return "the headers"
        return f"the body ({self.received} bytes so far)"


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 20.0,
    max_bytes: int = FEED_MAX_BYTES,
    user_agent: str = "digest/0.1 (+mailto:digest@localhost)",
    sleep: Callable[[float], None] = time.sleep,
    pacer: HostPacer | None = None,
) -> FetchResult:
    """GET one feed. Raises FeedError with a one-line reason on any failure.

    ``timeout`` is the deadline of each attempt as a whole, headers and body. Pass the
    ``etag``/``last_modified`` from the previous FetchResult to get a cheap 304. The byte cap
    applies to the decoded body, so a gzip bomb is stopped too. ``sleep`` is there so tests need
    not wait for Retry-After; ``pacer`` spaces requests per host. Call it from a thread, not
    from inside a running event loop: each attempt runs on a loop of its own.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        headers = {"User-Agent": user_agent, "Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return _fetch_http(url, headers, timeout, max_bytes, sleep, pacer)
    if scheme == "file" or scheme == "" or (len(scheme) == 1 and url[1:2] == ":"):
        path = Path(unquote(urlsplit(url).path)) if scheme == "file" else Path(url)
        return FetchResult(read_feed_file(path, max_bytes), 200, None, None, False, url)
    raise FeedError(f"unsupported URL scheme {scheme!r} in {url[:200]}")


def read_feed_file(path: Path, max_bytes: int = FEED_MAX_BYTES) -> bytes:
    """A local feed's bytes under the fetch cap: a file too big is refused by its size, unread.

    The read is bounded as well, for what a stat cannot size (a pipe, a file still growing).
    """
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                raise FeedError(_too_big(max_bytes, str(path), info.st_size))
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise FeedError(_too_big(max_bytes, str(path)))
    return body


def _too_big(max_bytes: int, where: str, size: int | None = None) -> str:
    actual = f" ({size:,} bytes)" if size is not None else ""
    return f"body larger than {max_bytes} bytes{actual}: {where[:200]}"


def _fetch_http(
    url: str,
    headers: dict[str, str],
    timeout: float,
    max_bytes: int,
    sleep: Callable[[float], None],
    pacer: HostPacer | None,
) -> FetchResult:
    for attempt in range(RETRIES + 1):
        if pacer is not None:
            pacer.wait(url)
        answer = run_on_own_loop(_attempt(url, headers, timeout, max_bytes, attempt < RETRIES))
        if isinstance(answer, FetchResult):
            return answer
        sleep(retry_delay(answer.retry_after, attempt))
    raise AssertionError("unreachable: the last attempt always returns or raises")


def run_on_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one request on a fresh event loop, without waiting for a stuck DNS lookup's thread.

    ``asyncio.run`` would join the loop's executor threads at the end, and a resolver that
    hangs would then hold the caller past the deadline the request itself kept.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _attempt(
    url: str, headers: dict[str, str], timeout: float, max_bytes: int, may_retry: bool
) -> FetchResult | _Retry:
    """One GET, redirects included, that must end within ``timeout`` seconds in all."""
    progress = _Progress()
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout
            ) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code in RETRY_STATUSES and may_retry:
                return _Retry(response.headers.get("Retry-After"))
            progress.phase = "body"
            return await _result(response, url, max_bytes, progress)
    except (TimeoutError, httpx.TimeoutException):
        raise FeedError(
            f"timed out after {timeout:g} s waiting for {progress}: {url[:200]}"
        ) from None
    except httpx.TooManyRedirects:
        raise FeedError(f"more than {MAX_REDIRECTS} redirects: {url[:200]}") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"cannot fetch {url[:200]}: {type(exc).__name__} {exc}") from None


async def _result(
    response: httpx.Response, url: str, max_bytes: int, progress: _Progress
) -> FetchResult:
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
        raise FeedError(_too_big(max_bytes, url))
    chunks: list[bytes] = []
    async for chunk in response.aiter_bytes():
        progress.received += len(chunk)
        if progress.received > max_bytes:
            raise FeedError(_too_big(max_bytes, url))
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
