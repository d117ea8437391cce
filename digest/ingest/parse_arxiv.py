"""arXiv's two feed flavours: the daily listing (RSS/Atom) and the query API (Atom).

Both name the paper by arXiv id; the listing also says why the paper appears today (new, cross,
replace, replace-cross), which the ranker uses to tell fresh work from revisions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from digest.ingest.ids import normalize_doi, parse_arxiv_id
from digest.ingest.sanitize import clean_text, one_line, sanitized_item
from digest.models import DroppedItem, FeedItem

Entry = Any  # feedparser's FeedParserDict: a dict with attribute access

_LISTING_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*"
    r"(?:Abstract:\s*)?(?P<abstract>.*)\Z",
    re.S,
)
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*|\s+and\s+")
_CODE_URL = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com)/[\w.-]+/[\w.-]+")


def is_listing(feed: Any) -> bool:
    """True for rss.arxiv.org listings, including the empty weekend ones."""
    where = f"{feed.feed.get('link', '')} {feed.feed.get('id', '')}"
    if "rss.arxiv.org" in where or "arxiv.org/rss" in where:
        return True
    return any("arxiv_announce_type" in entry for entry in feed.entries[:3])


def is_api(feed: Any) -> bool:
    """True for export.arxiv.org/api/query answers (opensearch namespace or api id)."""
    where = f"{feed.feed.get('link', '')} {feed.feed.get('id', '')}"
    if "arxiv.org/api" in where:
        return True
    return "opensearch" in feed.get("namespaces", {}) and "arxiv" in feed.get("namespaces", {})


def arxiv_urls(arxiv_id: str) -> tuple[str, str]:
    """The abstract page and the PDF, both unversioned: arXiv serves the newest version, so a
    link in an email stays right after a v2."""
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"


def _split_authors(entry: Entry) -> list[str]:
    names: list[str] = []
    for author in entry.get("authors") or ():
        names.extend(_AUTHOR_SEPARATOR.split(str(author.get("name") or "")))
    return names


def listing_entry(entry: Entry, now: dt.datetime) -> FeedItem | DroppedItem:
    """One listing item: "arXiv:<id>v<n> Announce Type: <t> Abstract: <text>" plus dc:creator."""
    description = str(entry.get("summary") or "")
    match = _LISTING_DESCRIPTION.match(description)
    parsed = (
        parse_arxiv_id(str(entry.get("id") or ""))
        or (parse_arxiv_id(match["id"]) if match else None)
        or parse_arxiv_id(str(entry.get("link") or ""))
    )
    if parsed is None:
        return DroppedItem("no arXiv id", one_line(entry.get("id") or entry.get("link") or ""))
    arxiv_id, version = parsed
    if version is None and match:
        version = (parse_arxiv_id(match["id"]) or (arxiv_id, None))[1]
    announce = entry.get("arxiv_announce_type") or (match["type"] if match else None)
    url, pdf_url = arxiv_urls(arxiv_id)
    return sanitized_item(
        now=now,
        title=entry.get("title"),
        abstract=match["abstract"] if match else description,
        authors=_split_authors(entry),
        categories=[tag.get("term") for tag in entry.get("tags") or ()],
        published=dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed"),
        url=url,
        pdf_url=pdf_url,
        arxiv_id=arxiv_id,
        version=version,
        announce_type=clean_text(announce, 40).lower() or None,
    )


def api_entry(entry: Entry, now: dt.datetime) -> FeedItem | DroppedItem:
    """One API record; the API's error records (bad id in id_list) are dropped with its message."""
    raw_id = str(entry.get("id") or "")
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        if "api/errors" in raw_id:
            return DroppedItem("arXiv API error", clean_text(entry.get("summary"), 300))
        return DroppedItem("no arXiv id", one_line(raw_id))
    arxiv_id, version = parsed
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    categories = [primary, *(tag.get("term") for tag in entry.get("tags") or ())]
    url, pdf_url = arxiv_urls(arxiv_id)  # not the entry's versioned PDF link: see arxiv_urls
    code = _CODE_URL.search(str(entry.get("arxiv_comment") or ""))
    doi_field = str(entry.get("arxiv_doi") or "").split()
    return sanitized_item(
        now=now,
        title=entry.get("title"),
        abstract=entry.get("summary"),
        authors=[author.get("name") for author in entry.get("authors") or ()],
        categories=categories,
        published=entry.get("published_parsed"),
        updated=dict.get(entry, "updated_parsed"),  # entry.get would fall back to published
        url=url,
        pdf_url=pdf_url,
        code_url=code.group(0).rstrip(".") if code else None,
        arxiv_id=arxiv_id,
        version=version,
        doi=normalize_doi(doi_field[0]) if doi_field else None,
    )
