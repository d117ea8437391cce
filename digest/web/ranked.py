"""Pages that rank the window's papers: cached, one ranking at a time, limited per client.

Analysing a window of thousands of papers takes seconds of CPU, and ranking one topic against
it most of another second. So the analysis (:class:`~digest.pipeline.RankingContext`) is kept
per date and window, and the public pages' results per topic and date, each in a small
bounded cache whose entries expire after :data:`CACHE_SECONDS` (new papers show within
minutes). A page that must compute counts against its client's ranking allowance, then waits
for the process's one ranking slot: Python runs one thread at a time anyway, and the
stemmer the ranker shares is not safe to use from two. Pages are plain ``def`` endpoints, so
all of this happens in the thread pool while the event loop (and /healthz) carries on.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response

from digest import pipeline
from digest.web.clients import client_ip, network_of
from digest.web.pages import error_page, log_safe, too_many_requests, web

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
PAGE_ENTRIES = 512  # topic pages, trending and themes per date: a few KB each
# Analysed windows: the topic pages' and the manage previews' for the newest date. Each is
# big (4,200 papers took 175 MB), so a digest of an older date is analysed without keeping it.
CONTEXT_ENTRIES = 2
SLOT_WAIT_SECONDS = 20.0

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class TtlCache(Generic[Key, Value]):
    """At most ``size`` entries, least recently used out first, none older than ``seconds``."""

    def __init__(
        self, size: int, seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.seconds = seconds
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, Value]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Key, value: Value) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + self.seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class RankingBusy(Exception):
    """No ranking slot came free in time: the site is busy ranking for others."""


class Rankings:
    """The app's ranking caches and its one ranking slot."""

    def __init__(self, *, wait: float = SLOT_WAIT_SECONDS) -> None:
        self.pages: TtlCache[Hashable, object] = TtlCache(PAGE_ENTRIES, CACHE_SECONDS)
        self.contexts: TtlCache[tuple[dt.date, int], pipeline.RankingContext] = TtlCache(
            CONTEXT_ENTRIES, CACHE_SECONDS
        )
        self.wait = wait
        self._slot = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slot.acquire(timeout=self.wait):
            raise RankingBusy()
        try:
            yield
        finally:
            self._slot.release()


def ranking_context(
    request: Request, day: dt.date, window_days: int, *, keep: bool = True
) -> pipeline.RankingContext:
    """:func:`digest.pipeline.ranking_context`, analysed once per date and window (``keep``
    False: a one-off, not worth the memory).

    Call it inside :meth:`Rankings.slot` (:func:`ranked` and :func:`personal` do).
    """
    ctx = web(request)
    key = (day, window_days)
    context = ctx.rankings.contexts.get(key)
    if context is None:
        context = pipeline.ranking_context(ctx.service, day, window_days)
        if keep:
            ctx.rankings.contexts.put(key, context)
    return context


def _over_allowance(request: Request) -> Response | None:
    if web(request).limits.allow_ranking(network_of(client_ip(request))):
        return None
    return too_many_requests(
        request,
        "We have had many requests for topic and trending pages from your network in the last "
        "minute. Please wait a minute and try again.",
    )


def ranked(request: Request, key: Hashable, compute: Callable[[], Value]) -> Value | Response:
    """The public page's value for ``key``: cached, or computed in the slot (after the
    client's ranking allowance; a Response when that is spent)."""
    rankings = web(request).rankings
    found = rankings.pages.get(key)
    if found is not None:
        return cast(Value, found)
    if refused := _over_allowance(request):
        return refused
    with rankings.slot():
        found = rankings.pages.get(key)  # another request may have just computed it
        if found is None:
            found = compute()
            rankings.pages.put(key, found)
    return cast(Value, found)


def personal(request: Request, compute: Callable[[], Value]) -> Value | Response:
    """A subscriber's own ranking (preview, "+N more"): never cached, else as :func:`ranked`."""
    if refused := _over_allowance(request):
        return refused
    with web(request).rankings.slot():
        return compute()


async def busy_page(request: Request, exc: Exception) -> Response:
    """The 503 for :class:`RankingBusy`: try again shortly."""
    log.warning("no ranking slot came free for %s", log_safe(request.url.path))
    response = error_page(
        request, 503, "Busy", "We are busy ranking papers for others. Please try again shortly."
    )
    response.headers["retry-after"] = "30"
    return response
