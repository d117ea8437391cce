"""Which papers still lack authors or categories, and writing what the arXiv API filled in.

A paper is asked for until the API has answered for it once (``metadata_checked_at``), or
until :data:`~digest.ingest.complete.MAX_ATTEMPTS` requests for it failed: a bad id or a dead
API then costs a few requests in all, not one every run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from digest.ingest.complete import MAX_ATTEMPTS, StoredFields, fill_empty
from digest.models import FeedItem
from digest.store.paper_merge import CHUNK, update_papers
from digest.store.schema import PaperRow

_PAPERS: Table = PaperRow.__table__  # type: ignore[assignment]


def _empty(column: Any) -> Any:
    """A JSON list column holding nothing: NULL, JSON null or [] (compared as text: PostgreSQL's
    json type has no equality)."""
    return func.coalesce(cast(column, Text), "[]").in_(["[]", "null"])


def papers_to_complete(session: Session, *, limit: int) -> list[tuple[int, str]]:
    """(paper id, arXiv id) of papers without authors or categories not yet asked for, newest
    first, at most ``limit``."""
    c = _PAPERS.c
    query = (
        select(c.id, c.arxiv_id)
        .where(
            c.arxiv_id.is_not(None),
            c.metadata_checked_at.is_(None),
            c.metadata_attempts < MAX_ATTEMPTS,
            or_(_empty(c.authors), _empty(c.categories)),
        )
        .order_by(c.announced_at.desc(), c.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.connection().execute(query)]


def record_answer(
    session: Session, asked: Mapping[str, int], items: Sequence[FeedItem], *, now: dt.datetime
) -> int:
    """Fill the asked papers' empty fields from the API's records; mark every asked paper as
    answered (an id the API does not know is not asked again). Returns the papers changed."""
    connection = session.connection()
    found = {item.arxiv_id: item for item in items if item.arxiv_id and item.arxiv_id in asked}
    ids = sorted(asked[arxiv_id] for arxiv_id in found)
    updates = []
    c = _PAPERS.c
    columns = (c.id, c.arxiv_id, c.abstract, c.authors, c.categories, c.doi, c.pdf_url)
    for start in range(0, len(ids), CHUNK):
        query = select(*columns, c.code_url, c.published_at).where(
            c.id.in_(ids[start : start + CHUNK])
        )
        for row in connection.execute(query):
            stored = StoredFields(
                abstract=row.abstract or "",
                authors=tuple(row.authors or ()),
                categories=tuple(row.categories or ()),
                doi=row.doi,
                pdf_url=row.pdf_url,
                code_url=row.code_url,
                published_at=row.published_at,
            )
            if changes := fill_empty(stored, found[row.arxiv_id], now):
                updates.append((row.id, changes))
    update_papers(connection, updates)
    _mark(session, list(asked.values()), {"metadata_checked_at": now})
    return len(updates)


def record_failure(session: Session, paper_ids: Sequence[int]) -> None:
    """One more failed request for each of these papers."""
    _mark(session, paper_ids, {"metadata_attempts": _PAPERS.c.metadata_attempts + 1})


def _mark(session: Session, paper_ids: Sequence[int], values: dict[str, Any]) -> None:
    ids = sorted(paper_ids)
    for start in range(0, len(ids), CHUNK):
        session.connection().execute(
            update(_PAPERS).where(_PAPERS.c.id.in_(ids[start : start + CHUNK])).values(values)
        )
