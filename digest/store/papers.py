"""Papers and sightings: the reads the ranker needs, and the merge (in :mod:`paper_merge`).

The digest window reads ``announced_at``: when a paper became news. A later version, a
cross-list or another source's sighting never moves it (see :mod:`digest.ingest.decide`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from digest.ingest.decide import MergeCounts
from digest.ingest.parse_arxiv import arxiv_urls
from digest.models import Paper, TrendSignal
from digest.store.db import one_of
from digest.store.paper_merge import CHUNK, merge_feed_items
from digest.store.schema import PaperRow, Sighting
from digest.store.tldrs import tldrs_for

__all__ = [
    "MergeCounts",
    "list_papers",
    "merge_feed_items",
    "newest_announcement",
    "papers_by_ids",
    "papers_in_window",
    "to_papers",
    "trend_signals",
]


def _sources_by_paper(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    sources: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(Sighting.paper_id, Sighting.source_name)
            .where(Sighting.paper_id.in_(ids[start : start + CHUNK]))
            .order_by(Sighting.paper_id, Sighting.id)
        )
        for paper_id, name in session.execute(query):
            sources[paper_id].append(name)
    return sources


def to_papers(session: Session, rows: Iterable[PaperRow]) -> list[Paper]:
    rows = list(rows)
    sources = _sources_by_paper(session, [row.id for row in rows])
    tldrs = tldrs_for(session, [row.id for row in rows])
    return [
        Paper(
            id=row.id,
            key=row.key,
            title=row.title,
            abstract=row.abstract,
            authors=tuple(row.authors or ()),
            categories=tuple(row.categories or ()),
            url=row.url,
            pdf_url=newest_pdf_url(row.arxiv_id, row.pdf_url),
            code_url=row.code_url,
            arxiv_id=row.arxiv_id,
            doi=row.doi,
            version=row.version,
            published=row.announced_at,
            first_seen=row.first_seen_at,
            sources=tuple(sources.get(row.id, ())),
            tldr=tldrs.get(row.id),
            revision=row.revision,
        )
        for row in rows
    ]


def newest_pdf_url(arxiv_id: str | None, stored: str | None) -> str | None:
    """An arXiv paper's unversioned PDF, which arXiv serves as the newest version; rows stored
    before a v2 arrived hold the v1 link."""
    return arxiv_urls(arxiv_id)[1] if arxiv_id else stored


def day_start(day: dt.date) -> dt.datetime:
    """Midnight UTC: the days of the digest window are UTC days."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def papers_in_window(session: Session, date: dt.date, window_days: int) -> list[Paper]:
    """Papers announced in the window that ends with `date` (inclusive), oldest days first."""
    start, end = (
        day_start(date - dt.timedelta(days=window_days)),
        day_start(date) + dt.timedelta(days=1),
    )
    query = (
        select(PaperRow)
        .where(PaperRow.announced_at >= start, PaperRow.announced_at < end)
        .order_by(PaperRow.id)
    )
    return to_papers(session, session.scalars(query))


def papers_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Paper]:
    ids = sorted(set(ids))
    rows: list[PaperRow] = []
    for start in range(0, len(ids), CHUNK):
        rows.extend(
            session.scalars(
                select(PaperRow).where(one_of(session, PaperRow.id, ids[start : start + CHUNK]))
            )
        )
    return {paper.id: paper for paper in to_papers(session, rows)}


def list_papers(session: Session, since: dt.date | None = None) -> list[Paper]:
    query = select(PaperRow).order_by(PaperRow.announced_at.desc(), PaperRow.id.desc())
    if since is not None:
        query = query.where(PaperRow.announced_at >= day_start(since))
    return to_papers(session, session.scalars(query))


def trend_signals(session: Session, ids: Sequence[int]) -> dict[int, TrendSignal]:
    """Per paper: distinct sources, mentions by trending feeds, upvotes, cross-listing."""
    signals: dict[int, TrendSignal] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        query = (
            select(
                Sighting.paper_id,
                func.count(),
                func.sum(cast(Sighting.is_mention, Integer)),
                func.sum(Sighting.weight),
            )
            .where(Sighting.paper_id.in_(chunk))
            .group_by(Sighting.paper_id)
        )
        sites = _mention_sites(session, chunk)
        for paper_id, n_sources, n_mentions, upvotes in session.execute(query):
            signals[paper_id] = TrendSignal(
                sources=n_sources,
                mentions=int(n_mentions or 0),
                upvotes=float(upvotes or 0.0),
                mention_sites=tuple(sites.get(paper_id, ())),
            )
        cross = select(PaperRow.id, PaperRow.categories).where(PaperRow.id.in_(chunk))
        for paper_id, categories in session.execute(cross):
            if categories and len(categories) > 1 and paper_id in signals:
                signals[paper_id] = replace(signals[paper_id], cross_listed=True)
    return signals


def _mention_sites(
    session: Session, ids: Sequence[int]
) -> dict[int, list[tuple[str | None, float]]]:
    """Per paper, (URL, weight) of each mention, oldest first: the words name the sites."""
    query = (
        select(Sighting.paper_id, Sighting.url, Sighting.weight)
        .where(Sighting.paper_id.in_(ids), Sighting.is_mention.is_(True))
        .order_by(Sighting.id)
    )
    sites: dict[int, list[tuple[str | None, float]]] = {}
    for paper_id, url, weight in session.execute(query):
        sites.setdefault(paper_id, []).append((url, float(weight or 0.0)))
    return sites


def newest_announcement(session: Session) -> dt.date | None:
    newest = session.scalar(select(func.max(PaperRow.announced_at)))
    if newest is None:
        return None
    if newest.tzinfo is None:  # SQLite's max() bypasses the column type
        newest = dt.datetime.fromisoformat(str(newest)).replace(tzinfo=dt.UTC)
    return newest.astimezone(dt.UTC).date()
