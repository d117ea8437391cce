"""Papers and sightings: the one-paper-one-row merge, and the reads the ranker needs.

The merge is decided in bulk: one query loads every row a batch of feed items could join,
the decisions are made in Python, and the session flushes them together (no per-row queries).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, or_, select
from sqlalchemy.orm import Session

from digest.ingest.ids import paper_key
from digest.models import FeedItem, Paper, TrendSignal
from digest.store.schema import PaperRow, Sighting

CHUNK = 500


@dataclass
class MergeCounts:
    new: int = 0
    updated: int = 0
    duplicates: int = 0


def _load_existing(
    session: Session, items: Sequence[FeedItem], keys: Sequence[str]
) -> tuple[dict[str, PaperRow], dict[str, PaperRow]]:
    """Rows that the batch could join, indexed by key and by DOI."""
    by_key: dict[str, PaperRow] = {}
    by_doi: dict[str, PaperRow] = {}
    dois = sorted({item.doi for item in items if item.doi})
    for start in range(0, max(len(keys), len(dois)), CHUNK):
        key_chunk, doi_chunk = keys[start : start + CHUNK], dois[start : start + CHUNK]
        conditions = []
        if key_chunk:
            conditions.append(PaperRow.key.in_(key_chunk))
        if doi_chunk:
            conditions.append(PaperRow.doi.in_(doi_chunk))
        for row in session.scalars(select(PaperRow).where(or_(*conditions))):
            by_key[row.key] = row
            if row.doi:
                by_doi[row.doi] = row
    return by_key, by_doi


def _new_row(item: FeedItem, key: str, now: dt.datetime) -> PaperRow:
    return PaperRow(
        key=key,
        arxiv_id=item.arxiv_id,
        doi=item.doi,
        title=item.title,
        abstract=item.abstract,
        authors=list(item.authors),
        categories=list(item.categories),
        version=item.version or 1,
        url=item.url,
        pdf_url=item.pdf_url,
        code_url=item.code_url,
        published_at=item.published,
        updated_at=item.updated,
        announced_at=item.published or item.updated or now,
        first_seen_at=now,
        changed_at=now,
        announce_type=item.announce_type,
        has_full_record=not item.is_mention or bool(item.abstract),
    )


def _merge_into(row: PaperRow, item: FeedItem, key: str, now: dt.datetime) -> bool:
    """Fold what a feed says about a known paper into its row; True when anything changed."""
    changed = False
    revised = (item.version or 0) > row.version
    fills_in = not row.has_full_record and not item.is_mention and bool(item.abstract)
    if revised or fills_in:
        row.title = item.title or row.title
        row.abstract = item.abstract or row.abstract
        row.authors = list(item.authors) or row.authors
        row.version = max(row.version, item.version or 1)
        row.updated_at = item.updated or row.updated_at
        row.has_full_record = row.has_full_record or fills_in
        changed = True
    if not row.abstract and item.abstract:
        row.abstract, changed = item.abstract, True
    new_categories = [c for c in item.categories if c not in row.categories]
    if new_categories:
        row.categories = [*row.categories, *new_categories]
        changed = True
    for name in ("arxiv_id", "doi", "url", "pdf_url", "code_url", "published_at"):
        value = getattr(item, "published" if name == "published_at" else name)
        if value and not getattr(row, name):
            setattr(row, name, value)
            changed = True
    if key.startswith("arxiv:") and not row.key.startswith("arxiv:"):
        row.key = key  # a journal DOI that the feed links to its arXiv id joins the arXiv paper
    if changed:
        row.changed_at = now
    return changed


def merge_feed_items(
    session: Session, source_name: str, items: Sequence[FeedItem], *, now: dt.datetime
) -> MergeCounts:
    """Store one feed's items: new papers, versions and cross-lists folded in, sightings."""
    counts = MergeCounts()
    keys = [paper_key(item) for item in items]
    by_key, by_doi = _load_existing(session, items, sorted(set(keys)))
    touched: list[tuple[PaperRow, FeedItem]] = []
    for item, key in zip(items, keys, strict=True):
        row = by_key.get(key) or (by_doi.get(item.doi) if item.doi else None)
        if row is None:
            row = _new_row(item, key, now)
            session.add(row)
            counts.new += 1
        elif _merge_into(row, item, key, now):
            counts.updated += 1
        else:
            counts.duplicates += 1
        by_key[row.key] = by_key[key] = row
        if row.doi:
            by_doi[row.doi] = row
        touched.append((row, item))
    session.flush()
    _record_sightings(session, source_name, touched, now)
    return counts


def _record_sightings(
    session: Session,
    source_name: str,
    touched: Sequence[tuple[PaperRow, FeedItem]],
    now: dt.datetime,
) -> None:
    ids = sorted({row.id for row, _ in touched})
    existing: dict[int, Sighting] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(Sighting).where(
            Sighting.source_name == source_name, Sighting.paper_id.in_(ids[start : start + CHUNK])
        )
        existing.update({s.paper_id: s for s in session.scalars(query)})
    for row, item in touched:
        sighting = existing.get(row.id)
        if sighting is None:
            sighting = Sighting(
                paper_id=row.id,
                source_name=source_name,
                is_mention=item.is_mention,
                weight=item.weight,
                url=item.mention_url or item.url,
                first_seen_at=now,
                last_seen_at=now,
            )
            session.add(sighting)
            existing[row.id] = sighting
        else:
            sighting.weight = max(sighting.weight, item.weight)
            sighting.last_seen_at = now


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
    return [
        Paper(
            id=row.id,
            key=row.key,
            title=row.title,
            abstract=row.abstract,
            authors=tuple(row.authors or ()),
            categories=tuple(row.categories or ()),
            url=row.url,
            pdf_url=row.pdf_url,
            code_url=row.code_url,
            arxiv_id=row.arxiv_id,
            doi=row.doi,
            version=row.version,
            published=row.announced_at,
            first_seen=row.first_seen_at,
            sources=tuple(sources.get(row.id, ())),
        )
        for row in rows
    ]


def day_start(day: dt.date) -> dt.datetime:
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
            session.scalars(select(PaperRow).where(PaperRow.id.in_(ids[start : start + CHUNK])))
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
        for paper_id, n_sources, n_mentions, upvotes in session.execute(query):
            signals[paper_id] = TrendSignal(
                sources=n_sources, mentions=int(n_mentions or 0), upvotes=float(upvotes or 0.0)
            )
        cross = select(PaperRow.id, PaperRow.categories).where(PaperRow.id.in_(chunk))
        for paper_id, categories in session.execute(cross):
            if categories and len(categories) > 1 and paper_id in signals:
                old = signals[paper_id]
                signals[paper_id] = TrendSignal(old.sources, old.mentions, old.upvotes, True)
    return signals


def newest_announcement(session: Session) -> dt.date | None:
    newest = session.scalar(select(func.max(PaperRow.announced_at)))
    if newest is None:
        return None
    if newest.tzinfo is None:  # SQLite's max() bypasses the column type
        newest = dt.datetime.fromisoformat(str(newest)).replace(tzinfo=dt.UTC)
    return newest.astimezone(dt.UTC).date()
