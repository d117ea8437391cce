"""Every other RSS or Atom feed: journals, paper aggregators, and link sites that mention papers.

An entry is a *paper* when the entry itself names one (its link, guid, prism:doi or
dc:identifier resolves). It is a *mention* when it only links to a paper from its content, or
when the whole feed is a trending signal (Hacker News, Reddit, the Hugging Face mirror): then
points or upvotes become the mention's weight. An entry that leads to no paper is dropped.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from digest.ingest.ids import normalize_doi, resolve_paper_link
from digest.ingest.parse_arxiv import arxiv_urls
from digest.ingest.sanitize import clean_text, one_line, sanitized_item
from digest.models import DroppedItem, FeedItem

Entry = Any

_MENTION_HOSTS = {
    "news.ycombinator.com": "social",
    "hnrss.org": "social",
    "reddit.com": "social",
    "old.reddit.com": "social",
    "lobste.rs": "social",
    "huggingface.co": "hf-daily",
}
_HREF = re.compile(r"""href\s*=\s*["']([^"'<>\s]{1,2000})["']""", re.I)
_WEIGHT = re.compile(
    r"\b(?:Upvotes|Points|Score)\s*:\s*(?:<[^<>]{0,40}>\s*){0,3}(\d[\d,]{0,12})", re.I
)
_HF_FIELD = re.compile(
    r"<b>\s*(?P<label>Authors|Summary):\s*</b>(?P<value>.*?)(?=</p>|<p>|\Z)", re.S | re.I
)
_PUBLISHED_ONLINE = re.compile(r"^\s*<p>[^<]{0,200}Published online:.*?</p>", re.S | re.I)

# A mention feed's ordinary entry (a story not about a paper): skipped, not a failure.
NO_PAPER_LINK = "no paper link"


def rss_kind(feed: Any) -> str:
    """social, hf-daily, journal or rss: what the feed is, judged from its home page and ids."""
    host = (urlsplit(str(feed.feed.get("link") or "")).hostname or "").removeprefix("www.")
    kind = _MENTION_HOSTS.get(host)
    if kind == "hf-daily" and "/papers" not in str(feed.feed.get("link")):
        kind = None
    if kind:
        return kind
    if any("prism_doi" in entry or "dc_identifier" in entry for entry in feed.entries[:5]):
        return "journal"
    return "rss"


def _body(entry: Entry) -> str:
    contents = entry.get("content") or ()
    if contents:
        return str(contents[0].get("value") or "")
    return str(entry.get("summary") or "")


def _own_identity(entry: Entry) -> tuple[str | None, str | None]:
    """(arxiv_id, doi) the entry names for itself, not for something it links to."""
    for field in ("prism_doi", "dc_identifier"):
        doi = normalize_doi(str(entry.get(field) or ""))
        if doi:
            return resolve_paper_link(f"https://doi.org/{doi}")
    for candidate in (entry.get("link"), entry.get("id")):
        if isinstance(candidate, str):
            arxiv_id, doi = resolve_paper_link(candidate)
            if arxiv_id or doi:
                return arxiv_id, doi
    return None, None


def _linked_identity(body: str) -> tuple[str | None, str | None]:
    for href in _HREF.findall(body[:200_000]):
        arxiv_id, doi = resolve_paper_link(html.unescape(href))
        if arxiv_id or doi:
            return arxiv_id, doi
    return None, None


def rss_entry(entry: Entry, kind: str, now: dt.datetime) -> FeedItem | DroppedItem:
    """One entry as a paper, a mention of a paper, or a drop with the reason."""
    link = str(entry.get("link") or "")
    body = _body(entry)
    arxiv_id, doi = _own_identity(entry)
    own = bool(arxiv_id or doi)
    if not own:
        arxiv_id, doi = _linked_identity(body)
    if not (arxiv_id or doi):
        return DroppedItem(NO_PAPER_LINK, one_line(link or entry.get("title") or ""))
    is_mention = kind in ("social", "hf-daily") or not own
    weight = _WEIGHT.search(body[:200_000])
    fields: dict[str, Any] = {
        "title": entry.get("title"),
        "abstract": "" if kind == "social" else _PUBLISHED_ONLINE.sub("", body, count=1),
        "authors": [author.get("name") for author in entry.get("authors") or ()],
        "categories": [] if is_mention else [tag.get("term") for tag in entry.get("tags") or ()],
        "url": link,
    }
    if kind == "hf-daily":
        labelled = {m["label"].lower(): m["value"] for m in _HF_FIELD.finditer(body[:200_000])}
        fields["abstract"] = labelled.get("summary", "")
        fields["authors"] = clean_text(labelled.get("authors", ""), 60_000).split(", ")
    if arxiv_id:
        fields["url"], fields["pdf_url"] = arxiv_urls(arxiv_id)
    elif own:
        fields["url"] = link or f"https://doi.org/{doi}"
    else:
        fields["url"] = f"https://doi.org/{doi}"
    if is_mention:
        fields["mention_url"] = _discussion_url(entry, kind, arxiv_id, link)
    item = sanitized_item(
        now=now,
        published=dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed"),
        updated=dict.get(entry, "updated_parsed"),  # entry.get would fall back to published
        weight=weight.group(1) if weight else 0.0,
        arxiv_id=arxiv_id,
        doi=doi,
        is_mention=is_mention,
        **fields,
    )
    if item.abstract and item.abstract == item.title:
        return replace(item, abstract="")
    return item


def _discussion_url(entry: Entry, kind: str, arxiv_id: str | None, link: str) -> str | None:
    if kind == "hf-daily" and arxiv_id:
        return f"https://huggingface.co/papers/{arxiv_id}"
    comments = entry.get("comments")
    if isinstance(comments, str) and comments.startswith(("http://", "https://")):
        return comments
    return link or None
