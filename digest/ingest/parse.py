"""Feed bytes → :class:`ParsedFeed`: detect the flavour, read each entry, collapse duplicates.

Pure: no network, no database, no clock (the caller passes ``now``). It never raises on a bad
entry or a damaged document; the entry is dropped with a reason and feedparser's complaint
becomes ``ParsedFeed.warning``. Only a document that is no feed at all raises FeedError.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import feedparser

from digest.errors import FeedError
from digest.ingest import parse_arxiv, parse_json, parse_rss
from digest.ingest.ids import paper_key
from digest.ingest.sanitize import clean_text, one_line
from digest.models import DroppedItem, FeedItem, ParsedFeed

ReadEntry = Callable[[Any, dt.datetime], FeedItem | DroppedItem]

_ROOT_ELEMENT = re.compile(rb"<[A-Za-z]")
_JSON_READERS: dict[str, ReadEntry] = {
    "hf-daily": parse_json.hf_daily_record,
    "biorxiv": parse_json.biorxiv_record,
    "semantic-scholar": parse_json.semantic_scholar_record,
}
# A failure of one entry must not cost the others; these are what malformed data can raise.
_ENTRY_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError)


def parse_feed(
    data: bytes, *, source_url: str | None = None, now: dt.datetime, source_kind: str | None = None
) -> ParsedFeed:
    """Read one fetched document. ``source_url`` only improves error messages.

    ``source_kind`` "mentions" reads every entry of a generic feed as a mention of the paper it
    links to (a blog or forum the user added as a trending signal); other kinds change nothing,
    because the flavour is read from the document itself.
    """
    start = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not start:
        raise FeedError(f"empty document{_from(source_url)}")
    if start in (b"{", b"["):
        return _parse_json(data, source_url, now)
    return _parse_xml(data, source_url, now, mentions_only=source_kind == "mentions")


def _from(source_url: str | None) -> str:
    return f" from {one_line(source_url, 200)}" if source_url else ""


def _parse_json(data: bytes, source_url: str | None, now: dt.datetime) -> ParsedFeed:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"unreadable JSON{_from(source_url)}: {one_line(exc, 120)}") from None
    kind = parse_json.json_kind(document)
    if kind is None:
        raise FeedError(
            f"JSON{_from(source_url)} is not a known paper feed "
            "(expected Hugging Face daily papers, bioRxiv/medRxiv details or Semantic Scholar)"
        )
    records = parse_json.json_records(document, kind)
    items, dropped = _read_entries(records, _JSON_READERS[kind], now)
    return ParsedFeed(kind=kind, items=collapse_duplicates(items), dropped=dropped)


def _parse_xml(
    data: bytes, source_url: str | None, now: dt.datetime, *, mentions_only: bool = False
) -> ParsedFeed:
    warnings: list[str] = []
    root = _ROOT_ELEMENT.search(data, 0, 1_000_000)
    if b"<!ENTITY" in data[: root.start() if root else 1_000_000].upper():
        # feedparser strips entity declarations before expat sees them (no billion laughs,
        # no external entities); say so, because references to them are left unexpanded.
        warnings.append("ignored <!ENTITY> declarations: entity expansion is not allowed")
    feed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if feed.get("bozo"):
        exc = feed.get("bozo_exception")
        warnings.append(one_line(f"{type(exc).__name__}: {exc}", 200))
    if not feed.get("version") and not feed.entries:
        reason = warnings[-1] if warnings else "no RSS or Atom structure"
        raise FeedError(f"not an RSS, Atom or JSON feed{_from(source_url)}: {reason}")
    kind, read = _xml_reader(feed, mentions_only)
    items, dropped = _read_entries(feed.entries, read, now)
    return ParsedFeed(
        kind=kind,
        items=collapse_duplicates(items),
        title=clean_text(feed.feed.get("title"), 300) or None,
        dropped=dropped,
        warning="; ".join(warnings) or None,
        empty_announcement=kind == "arxiv-rss" and not feed.entries,
    )


def _xml_reader(feed: Any, mentions_only: bool) -> tuple[str, ReadEntry]:
    if parse_arxiv.is_api(feed):
        return "arxiv-api", parse_arxiv.api_entry
    if parse_arxiv.is_listing(feed):
        return "arxiv-rss", parse_arxiv.listing_entry
    kind = parse_rss.rss_kind(feed)
    if mentions_only and kind not in ("social", "hf-daily"):
        kind = "social"

    def read(entry: Any, now: dt.datetime) -> FeedItem | DroppedItem:
        return parse_rss.rss_entry(entry, kind, now)

    return kind, read


def _read_entries(
    entries: Iterable[Any], read: ReadEntry, now: dt.datetime
) -> tuple[list[FeedItem], tuple[DroppedItem, ...]]:
    items: list[FeedItem] = []
    dropped: list[DroppedItem] = []
    for index, entry in enumerate(entries):
        try:
            result = read(entry, now)
        except _ENTRY_ERRORS as exc:
            result = DroppedItem("unreadable entry", one_line(f"#{index}: {exc!r}", 200))
        if isinstance(result, FeedItem) and not result.title:
            result = DroppedItem("missing title", one_line(result.url or f"#{index}", 200))
        if isinstance(result, FeedItem):
            items.append(result)
        else:
            dropped.append(result)
    return items, tuple(dropped)


def collapse_duplicates(items: Iterable[FeedItem]) -> tuple[FeedItem, ...]:
    """One item per paper key, in first-seen order: the highest version, with the max weight."""
    best: dict[str, FeedItem] = {}
    for item in items:
        key = paper_key(item)
        kept = best.get(key)
        if kept is None:
            best[key] = item
            continue
        winner = item if (item.version or 0) > (kept.version or 0) else kept
        weight = max(item.weight, kept.weight)
        best[key] = winner if winner.weight == weight else replace(winner, weight=weight)
    return tuple(best.values())
