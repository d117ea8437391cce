"""Completing papers from the arXiv API by id: which requests to make, what an answer fills.

A paper first seen on Hugging Face or a TL;DR feed often lacks its authors or categories. The
pipeline asks the API for such papers in batches of ``id_list`` (one request per
:data:`ID_BATCH` ids) and :func:`fill_empty` decides what an answer changes: only the fields
still empty, so nothing a listing already stored is overwritten, and never the dates the
digest window reads. Nothing here touches the network or the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from digest.ingest.decide import PaperChanges
from digest.models import FeedItem

ID_BATCH = 100  # ids per request: the API's documented comfortable page size
MAX_ATTEMPTS = 3  # failed requests a paper may cost before it is no longer asked for


@dataclass(frozen=True)
class StoredFields:
    """The fields of a stored paper an API record may fill, as they are now."""

    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    doi: str | None
    pdf_url: str | None
    code_url: str | None
    published_at: dt.datetime | None


def id_list_batches(
    base_url: str, arxiv_ids: Sequence[str], batch: int = ID_BATCH
) -> list[tuple[str, list[str]]]:
    """(request URL, the ids it asks for), one per ``batch`` ids, in the order given."""
    batches = []
    for start in range(0, len(arxiv_ids), batch):
        ids = list(arxiv_ids[start : start + batch])
        query = urlencode({"id_list": ",".join(ids), "max_results": len(ids)}, safe=",/")
        batches.append((f"{base_url}{'&' if '?' in base_url else '?'}{query}", ids))
    return batches


def fill_empty(stored: StoredFields, item: FeedItem, now: dt.datetime) -> PaperChanges:
    """The columns the API's record of a paper fills: empty ones only ({} when none)."""
    changes = PaperChanges()
    if not stored.authors and item.authors:
        changes["authors"] = list(item.authors)
    extra = [c for c in item.categories if c not in stored.categories]
    if extra:
        changes["categories"] = [*stored.categories, *extra]
    if not stored.abstract and item.abstract:
        changes["abstract"] = item.abstract
    if not stored.doi and item.doi:
        changes["doi"] = item.doi
    if not stored.pdf_url and item.pdf_url:
        changes["pdf_url"] = item.pdf_url
    if not stored.code_url and item.code_url:
        changes["code_url"] = item.code_url
    if not stored.published_at and item.published:
        changes["published_at"] = item.published
    if changes:
        changes["changed_at"] = now
    return changes
