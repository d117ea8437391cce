"""The one-paper-one-row merge of a feed's items: load what is known, write what was decided.

What each item changes is decided in :mod:`digest.ingest.decide` (with the identity and
version rules); this module reads the rows a batch could join and writes the outcome. A batch
costs a fixed handful of statements whatever its size: one SELECT per 500 keys/DOIs for the
rows it could join (only the columns the decision needs), one multi-row INSERT ... RETURNING
for new papers, one executemany UPDATE per set of changed columns, and the same for sightings.
Nothing is queried or committed per row, so storing is cheap next to parsing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from digest.ingest.decide import (
    FILLABLE,
    Known,
    MergeCounts,
    PaperChanges,
    decide_batch,
    heaviest_items,
)
from digest.ingest.ids import paper_key
from digest.models import FeedItem
from digest.store.schema import PaperRow, Sighting

CHUNK = 500
_PAPERS: Table = PaperRow.__table__  # type: ignore[assignment]
_SIGHTINGS: Table = Sighting.__table__  # type: ignore[assignment]


def merge_feed_items(
    session: Session, source_name: str, items: Sequence[FeedItem], *, now: dt.datetime
) -> MergeCounts:
    """Store one feed's items: new papers, versions and cross-lists folded in, sightings."""
    if not items:
        return MergeCounts()
    connection = session.connection()
    keys = [paper_key(item) for item in items]
    by_key, by_doi = _load_known(connection, keys, [item.doi for item in items if item.doi])
    batch = decide_batch(items, keys, by_key, by_doi, now)
    update_papers(connection, batch.updates)
    _insert_papers(connection, batch.new)
    seen = [(_paper_id(known), item) for known, item in zip(batch.matched, items, strict=True)]
    _record_sightings(connection, source_name, heaviest_items(seen), now)
    return batch.counts


def _paper_id(known: Known) -> int:
    assert known.id is not None, "every matched paper has its id once the new ones are inserted"
    return known.id


_KNOWN_COLUMNS = (
    _PAPERS.c.id,
    _PAPERS.c.key,
    _PAPERS.c.version,
    _PAPERS.c.has_full_record,
    _PAPERS.c.categories,
    _PAPERS.c.announced_at,
    *(_PAPERS.c[name] for name, _ in FILLABLE),
    func.coalesce(cast(_PAPERS.c.authors, Text), "[]")
    .not_in(["[]", "null"])
    .label("has_authors"),  # as text: PostgreSQL's json type has no equality
    _PAPERS.c.title,
    _PAPERS.c.abstract,
)


def _load_known(
    connection: Connection, keys: Sequence[str], dois: Sequence[str]
) -> tuple[dict[str, Known], dict[str, Known]]:
    """The stored rows the batch could join, by key and by DOI."""
    c = _PAPERS.c
    by_key: dict[str, Known] = {}
    by_doi: dict[str, Known] = {}
    key_list, doi_list = sorted(set(keys)), sorted(set(dois))
    for start in range(0, max(len(key_list), len(doi_list)), CHUNK):
        conditions = []
        if key_chunk := key_list[start : start + CHUNK]:
            conditions.append(c.key.in_(key_chunk))
        if doi_chunk := doi_list[start : start + CHUNK]:
            conditions.append(c.doi.in_(doi_chunk))
        for row in connection.execute(select(*_KNOWN_COLUMNS).where(or_(*conditions))):
            known = _known(row)
            by_key[known.key] = known
            if known.doi:
                by_doi[known.doi] = known
    return by_key, by_doi


def _known(row: Any) -> Known:
    return Known(
        id=row[0],
        key=row[1],
        version=row[2],
        full=bool(row[3]),
        categories=list(row[4] or ()),
        announced_at=_aware(row[5]),
        has_abstract=bool(row.abstract),
        filled={name for name, _ in FILLABLE if getattr(row, name)},
        arxiv_id=row.arxiv_id,
        doi=row.doi,
        has_authors=bool(row.has_authors),
        title=row.title,
        abstract=row.abstract,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def update_papers(connection: Connection, updates: Sequence[tuple[int, PaperChanges]]) -> None:
    """One executemany UPDATE per set of changed columns, the sets in order of first change."""
    batches: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for paper_id, changes in updates:
        batches[frozenset(changes)].append({"_id": paper_id, **changes})
    for columns, rows in batches.items():
        statement = (
            update(_PAPERS)
            .where(_PAPERS.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in columns})
        )
        connection.execute(statement, rows)


def _insert_papers(connection: Connection, new: list[Known]) -> None:
    """Insert the batch's new papers, CHUNK a statement, and give each its id."""
    for start in range(0, len(new), CHUNK):
        chunk = new[start : start + CHUNK]
        values = [k.pending for k in chunk if k.pending]
        ids: dict[str, int] = dict(insert_rows(connection, _PAPERS, values, returning=True))
        for known in chunk:
            known.id = ids[known.key]


def _record_sightings(
    connection: Connection, source_name: str, best: Mapping[int, FeedItem], now: dt.datetime
) -> None:
    """One sighting per (paper, source): created, or its last_seen and max weight refreshed."""
    weights = _stored_weights(connection, source_name, sorted(best))
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
    s = _SIGHTINGS.c
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


def _stored_weights(
    connection: Connection, source_name: str, ids: Sequence[int]
) -> dict[int, float]:
    """paper id → weight of this source's sighting, for the papers it has sighted before."""
    s = _SIGHTINGS.c
    weights: dict[int, float] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(s.paper_id, s.weight).where(
            s.source_name == source_name, s.paper_id.in_(ids[start : start + CHUNK])
        )
        weights.update({paper_id: weight for paper_id, weight in connection.execute(query)})
    return weights


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: bool = False,
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
