"""The one-paper-one-row merge of a feed's items, decided in Python and written in bulk.

A batch costs a fixed handful of statements whatever its size: one SELECT per 500 keys/DOIs
for the rows it could join (only the columns the decision needs), one multi-row INSERT ...
RETURNING for new papers, one executemany UPDATE per set of changed columns, and the same
for sightings. Nothing is queried or committed per row, so storing is cheap next to parsing.

Identity rules (see :func:`digest.ingest.ids.paper_key`): the arXiv id wins; a DOI joins a row
that carries it (a journal DOI an arXiv record links to joins the arXiv paper, and the row's
key becomes the arXiv key when the arXiv record arrives second). Versions: a higher version
replaces title, abstract, authors and version, but never ``first_seen_at`` or
``announced_at``, which is what the digest window reads, so a v2 is not news again. A paper
first seen as an arXiv *replacement* is dated to its id's month for the same reason. A
cross-list adds its categories. A mention (HN, Reddit, HF) of an unknown paper creates a row
with ``has_full_record`` false; the first full listing fills it in and may date it earlier.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from digest.ingest.ids import paper_key
from digest.models import FeedItem
from digest.store.schema import PaperRow, Sighting

CHUNK = 500
_PAPERS: Table = PaperRow.__table__  # type: ignore[assignment]
_SIGHTINGS: Table = Sighting.__table__  # type: ignore[assignment]
_FILLABLE = (
    ("arxiv_id", "arxiv_id"),
    ("doi", "doi"),
    ("url", "url"),
    ("pdf_url", "pdf_url"),
    ("code_url", "code_url"),
    ("published_at", "published"),
)
_REPLACE_TYPES = ("replace", "replace-cross")


@dataclass
class MergeCounts:
    new: int = 0
    updated: int = 0
    duplicates: int = 0


@dataclass
class Known:
    """What the merge must know of a stored (or pending) row to decide; not the whole row."""

    id: int | None
    key: str
    version: int
    full: bool
    categories: list[str]
    announced_at: dt.datetime
    has_abstract: bool
    filled: set[str] = field(default_factory=set)  # fillable columns that hold a value
    arxiv_id: str | None = None
    doi: str | None = None
    pending: dict[str, Any] | None = None  # insert values of a row new in this batch


def merge_feed_items(
    session: Session, source_name: str, items: Sequence[FeedItem], *, now: dt.datetime
) -> MergeCounts:
    """Store one feed's items: new papers, versions and cross-lists folded in, sightings."""
    counts = MergeCounts()
    if not items:
        return counts
    connection = session.connection()
    keys = [paper_key(item) for item in items]
    by_key, by_doi = _load_known(connection, keys, [item.doi for item in items if item.doi])
    updates: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    pending: list[Known] = []
    matched: list[Known] = []
    for item, key in zip(items, keys, strict=True):
        known = by_key.get(key) or _doi_match(by_doi, item)
        if known is None:
            known = _pending_row(item, key, now)
            pending.append(known)
            counts.new += 1
        else:
            changes = decide_changes(known, item, key, now)
            if changes and known.pending is not None:
                known.pending.update(changes)
            elif changes:
                updates[frozenset(changes)].append({"_id": known.id, **changes})
                counts.updated += 1
            else:
                counts.duplicates += 1
        by_key[known.key] = by_key[key] = known
        if known.doi:
            by_doi.setdefault(known.doi, known)
        matched.append(known)
    _write_papers(connection, pending, updates)
    _record_sightings(connection, source_name, matched, items, now)
    return counts


def _doi_match(by_doi: dict[str, Known], item: FeedItem) -> Known | None:
    known = by_doi.get(item.doi) if item.doi else None
    if known is not None and item.arxiv_id and known.arxiv_id not in (None, item.arxiv_id):
        return None  # two arXiv papers citing one DOI stay two papers
    return known


def _load_known(
    connection: Connection, keys: Sequence[str], dois: Sequence[str]
) -> tuple[dict[str, Known], dict[str, Known]]:
    c = _PAPERS.c
    columns = (
        c.id,
        c.key,
        c.version,
        c.has_full_record,
        c.categories,
        c.announced_at,
        c.abstract != "",
        c.arxiv_id,
        c.doi,
        c.url,
        c.pdf_url,
        c.code_url,
        c.published_at,
    )
    by_key: dict[str, Known] = {}
    by_doi: dict[str, Known] = {}
    key_list, doi_list = sorted(set(keys)), sorted(set(dois))
    for start in range(0, max(len(key_list), len(doi_list)), CHUNK):
        conditions = []
        if key_chunk := key_list[start : start + CHUNK]:
            conditions.append(c.key.in_(key_chunk))
        if doi_chunk := doi_list[start : start + CHUNK]:
            conditions.append(c.doi.in_(doi_chunk))
        for row in connection.execute(select(*columns).where(or_(*conditions))):
            known = Known(
                id=row[0],
                key=row[1],
                version=row[2],
                full=bool(row[3]),
                categories=list(row[4] or ()),
                announced_at=_aware(row[5]),
                has_abstract=bool(row[6]),
                filled={name for (name, _), value in zip(_FILLABLE, row[7:], strict=True) if value},
                arxiv_id=row[7],
                doi=row[8],
            )
            by_key[known.key] = known
            if known.doi:
                by_doi[known.doi] = known
    return by_key, by_doi


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def announced_at_for(item: FeedItem, now: dt.datetime) -> dt.datetime:
    """When a new paper became news: its announcement, except for a replacement we never saw
    as new (an old paper revised), which is dated to the first day of its id's month."""
    announced = item.published or item.updated or now
    if item.announce_type in _REPLACE_TYPES and item.arxiv_id and item.arxiv_id[:4].isdigit():
        year, month = 2000 + int(item.arxiv_id[:2]), int(item.arxiv_id[2:4])
        if 1 <= month <= 12:
            announced = min(announced, dt.datetime(year, month, 1, tzinfo=dt.UTC))
    return announced


def _pending_row(item: FeedItem, key: str, now: dt.datetime) -> Known:
    values: dict[str, Any] = {
        "key": key,
        "arxiv_id": item.arxiv_id,
        "doi": item.doi,
        "title": item.title,
        "abstract": item.abstract,
        "authors": list(item.authors),
        "categories": list(item.categories),
        "version": item.version or 1,
        "url": item.url,
        "pdf_url": item.pdf_url,
        "code_url": item.code_url,
        "published_at": item.published,
        "updated_at": item.updated,
        "announced_at": announced_at_for(item, now),
        "first_seen_at": now,
        "changed_at": now,
        "announce_type": item.announce_type,
        "has_full_record": not item.is_mention,
    }
    return Known(
        id=None,
        key=key,
        version=values["version"],
        full=values["has_full_record"],
        categories=values["categories"],
        announced_at=values["announced_at"],
        has_abstract=bool(item.abstract),
        filled={name for name, attr in _FILLABLE if getattr(item, attr)},
        arxiv_id=item.arxiv_id,
        doi=item.doi,
        pending=values,
    )


def decide_changes(known: Known, item: FeedItem, key: str, now: dt.datetime) -> dict[str, Any]:
    """The column values this item changes on a known paper ({} when it only repeats it).

    Updates ``known`` as well, so a later item of the same batch sees the new state.
    """
    changes: dict[str, Any] = {}
    revised = (item.version or 0) > known.version
    fills_in = not known.full and not item.is_mention
    if revised or fills_in:
        changes.update(title=item.title, version=max(known.version, item.version or 1))
        if item.abstract:
            changes["abstract"] = item.abstract
        if item.authors:
            changes["authors"] = list(item.authors)
        if item.updated:
            changes["updated_at"] = item.updated
        known.version = changes["version"]
    if fills_in:
        changes["has_full_record"] = known.full = True
        if item.published and item.published < known.announced_at:
            changes["announced_at"] = known.announced_at = item.published
    if not known.has_abstract and item.abstract:
        changes["abstract"] = item.abstract
    known.has_abstract = known.has_abstract or bool(item.abstract)
    extra = [c for c in item.categories if c not in known.categories]
    if extra:
        known.categories = [*known.categories, *extra]
        changes["categories"] = known.categories
    for column, attr in _FILLABLE:
        value = getattr(item, attr)
        if value and column not in known.filled:
            changes[column] = value
            known.filled.add(column)
    known.arxiv_id = known.arxiv_id or item.arxiv_id
    known.doi = known.doi or item.doi
    if key.startswith("arxiv:") and not known.key.startswith("arxiv:"):
        changes["key"] = known.key = key
    if changes:
        changes["changed_at"] = now
    return changes


def _write_papers(
    connection: Connection,
    pending: list[Known],
    updates: dict[frozenset[str], list[dict[str, Any]]],
) -> None:
    c = _PAPERS.c
    for columns, rows in updates.items():
        statement = (
            update(_PAPERS)
            .where(c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in columns})
        )
        connection.execute(statement, rows)
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        values = [k.pending for k in chunk if k.pending]
        ids: dict[str, int] = dict(insert_rows(connection, _PAPERS, values, returning=True))
        for known in chunk:
            known.id = ids[known.key]


def _record_sightings(
    connection: Connection,
    source_name: str,
    matched: Sequence[Known],
    items: Sequence[FeedItem],
    now: dt.datetime,
) -> None:
    """One sighting per (paper, source): created, or its last_seen and max weight refreshed."""
    s = _SIGHTINGS.c
    best: dict[int, FeedItem] = {}
    for known, item in zip(matched, items, strict=True):
        assert known.id is not None
        kept = best.get(known.id)
        if kept is None or item.weight > kept.weight:
            best[known.id] = item
    ids = sorted(best)
    weights: dict[int, float] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(s.paper_id, s.weight).where(
            s.source_name == source_name, s.paper_id.in_(ids[start : start + CHUNK])
        )
        weights.update({paper_id: weight for paper_id, weight in connection.execute(query)})
    fresh = [
        {
            "paper_id": paper_id,
            "source_name": source_name,
            "is_mention": item.is_mention,
            "weight": item.weight,
            "url": item.mention_url or item.url,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for paper_id, item in best.items()
        if paper_id not in weights
    ]
    if fresh:
        insert_rows(connection, _SIGHTINGS, fresh)
    heavier = [
        {"_id": paper_id, "weight": best[paper_id].weight}
        for paper_id, weight in weights.items()
        if best[paper_id].weight > weight
    ]
    if heavier:
        statement = (
            update(_SIGHTINGS)
            .where(s.source_name == source_name, s.paper_id == bindparam("_id"))
            .values(weight=bindparam("weight"))
        )
        connection.execute(statement, heavier)
    seen = sorted(weights)
    for start in range(0, len(seen), CHUNK):
        connection.execute(
            update(_SIGHTINGS)
            .where(s.source_name == source_name, s.paper_id.in_(seen[start : start + CHUNK]))
            .values(last_seen_at=now)
        )


def insert_rows(
    connection: Connection, table: Table, rows: list[dict[str, Any]], *, returning: bool = False
) -> list[tuple[str, int]]:
    """Insert rows in one statement; with ``returning``, their (key, id) pairs.

    On PostgreSQL the rows travel as one JSON parameter (json_populate_recordset): psycopg
    would otherwise re-parse a multi-row VALUES statement with thousands of placeholders,
    which costs more than the insert. Elsewhere SQLAlchemy's insertmanyvalues does the job.
    """
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = insert(table)
        if returning:
            return [
                (r[0], r[1])
                for r in connection.execute(statement.returning(table.c.key, table.c.id), rows)
            ]
        connection.execute(statement, rows)
        return []
    columns = ", ".join(f'"{name}"' for name in rows[0])
    sql = (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} "
        f"FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json))"
        + (" RETURNING key, id" if returning else "")
    )
    result = connection.execute(text(sql), {"rows": json.dumps(rows, default=_json_value)})
    return [(r[0], r[1]) for r in result] if returning else []


def _json_value(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")
