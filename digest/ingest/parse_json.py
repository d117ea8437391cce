"""JSON paper feeds: Hugging Face daily papers, bioRxiv/medRxiv details, Semantic Scholar search.

JSON from an API is as untrusted as XML from a feed: every value is type-checked here before it
reaches :func:`digest.ingest.sanitize.sanitized_item`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from digest.ingest.ids import normalize_doi, parse_arxiv_id
from digest.ingest.parse_arxiv import arxiv_urls
from digest.ingest.sanitize import one_line, sanitized_item
from digest.models import DroppedItem, FeedItem

_PREPRINT_SITES = {"biorxiv": "https://www.biorxiv.org", "medrxiv": "https://www.medrxiv.org"}


def json_kind(document: object) -> str | None:
    """Which JSON flavour a decoded document is, or None when it is none we read."""
    if isinstance(document, list) and document and isinstance(document[0], dict):
        first = document[0]
        if isinstance(first.get("paper"), dict) or ("upvotes" in first and "id" in first):
            return "hf-daily"
    if isinstance(document, dict):
        if isinstance(document.get("collection"), list):
            return "biorxiv"
        data = document.get("data")
        if isinstance(data, list) and all(
            isinstance(row, dict) and ("paperId" in row or "externalIds" in row) for row in data[:5]
        ):
            return "semantic-scholar"
    return None


def json_records(document: Any, kind: str) -> list[Any]:
    """The per-paper records of a document whose kind :func:`json_kind` named."""
    if kind == "biorxiv":
        return list(document["collection"])
    if kind == "semantic-scholar":
        return list(document["data"])
    return list(document)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def hf_daily_record(record: object, now: dt.datetime) -> FeedItem | DroppedItem:
    """One daily-papers record: a trending mention with upvotes that still carries the paper."""
    outer = _dict(record)
    paper = _dict(outer.get("paper")) or outer
    parsed = parse_arxiv_id(str(paper.get("id") or ""))
    if parsed is None:
        return DroppedItem("no arXiv id", one_line(paper.get("id") or paper.get("title") or ""))
    arxiv_id, version = parsed
    url, pdf_url = arxiv_urls(arxiv_id)
    authors = _list(paper.get("authors"))
    return sanitized_item(
        now=now,
        title=_text(paper.get("title")) or _text(outer.get("title")),
        abstract=_text(paper.get("summary")) or _text(outer.get("summary")),
        authors=[_text(_dict(author).get("name")) for author in authors],
        published=_text(paper.get("publishedAt")) or _text(outer.get("publishedAt")),
        url=url,
        pdf_url=pdf_url,
        code_url=paper.get("githubRepo"),
        mention_url=f"https://huggingface.co/papers/{arxiv_id}",
        weight=paper.get("upvotes", 0),
        arxiv_id=arxiv_id,
        version=version,
        is_mention=True,
    )


def biorxiv_record(record: object, now: dt.datetime) -> FeedItem | DroppedItem:
    """One details record: a preprint identified by DOI, one record per version."""
    row = _dict(record)
    doi = normalize_doi(_text(row.get("doi")))
    if doi is None:
        return DroppedItem("no DOI", one_line(row.get("doi") or row.get("title") or ""))
    version_text = str(row.get("version") or "")
    version = int(version_text) if version_text.isdigit() and 0 < int(version_text) < 1000 else None
    site = _PREPRINT_SITES.get(_text(row.get("server")).lower(), _PREPRINT_SITES["biorxiv"])
    page = f"{site}/content/{doi}" + (f"v{version}" if version else "")
    return sanitized_item(
        now=now,
        title=row.get("title"),
        abstract=row.get("abstract"),
        authors=_text(row.get("authors")).split(";"),
        categories=[row.get("category")],
        published=_text(row.get("date")),
        url=page,
        pdf_url=page + ".full.pdf",
        doi=doi,
        version=version,
    )


def semantic_scholar_record(record: object, now: dt.datetime) -> FeedItem | DroppedItem:
    """One graph API search hit: arXiv id or DOI from externalIds, else only a title key."""
    row = _dict(record)
    external = _dict(row.get("externalIds"))
    parsed = parse_arxiv_id(str(external.get("ArXiv") or ""))
    doi = normalize_doi(_text(external.get("DOI")))
    authors = _list(row.get("authors"))
    published = _text(row.get("publicationDate"))
    if not published and isinstance(row.get("year"), int):
        published = f"{row['year']:04d}-01-01"
    return sanitized_item(
        now=now,
        title=row.get("title"),
        abstract=row.get("abstract"),
        authors=[_text(_dict(author).get("name")) for author in authors],
        published=published,
        url=(f"https://arxiv.org/abs/{parsed[0]}" if parsed else None) or row.get("url"),
        pdf_url=_dict(row.get("openAccessPdf")).get("url"),
        arxiv_id=parsed[0] if parsed else None,
        version=parsed[1] if parsed else None,
        doi=doi,
    )
