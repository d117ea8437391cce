"""Editions: the picks of one digest as planned, shared by every delivery that got the same ones.

An edition is written once, when planning first meets its picks, and never changes after, so
readers may cache what they read. A paper counts as sent to a subscriber while one of their
deliveries holding it has not failed for good (``HOLDS_PAPERS``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, cast, func, insert, select
from sqlalchemy.orm import Session

from digest.models import Paper, PaperUpdate, Pick
from digest.store.db import one_of
from digest.store.deliveries import HOLDS_PAPERS
from digest.store.schema import Delivery, Edition, EditionItem, PaperRow

_ITEMS: Table = EditionItem.__table__  # type: ignore[assignment]

EditionKey = tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class StoredPick:
    """A paper recorded for a delivery, with the score and reasons it had when planned."""

    paper_id: int
    position: int
    score: float
    relevance: float
    trending: float
    topic: str | None
    reasons: tuple[str, ...]


def sent_paper_ids(session: Session, subscriber_ids: Sequence[int]) -> dict[int, set[int]]:
    """Per subscriber, the papers already held by one of their deliveries: never sent again."""
    sent: dict[int, set[int]] = {sid: set() for sid in subscriber_ids}
    query = (
        select(Delivery.subscriber_id, EditionItem.paper_id)
        .join(Delivery, Delivery.edition_id == EditionItem.edition_id)
        .where(
            one_of(session, Delivery.subscriber_id, subscriber_ids),
            Delivery.state.in_(HOLDS_PAPERS),
        )
    )
    for subscriber_id, paper_id in session.execute(query):
        sent[subscriber_id].add(paper_id)
    return sent


def revised_papers(session: Session, since: dt.datetime, until: dt.datetime) -> dict[int, int]:
    """Paper id → newest version, for the papers revised in [since, until): a handful a day."""
    query = select(PaperRow.id, PaperRow.version).where(
        PaperRow.revised_at >= since, PaperRow.revised_at < until
    )
    return {paper_id: version for paper_id, version in session.execute(query)}


def revised_since_sent(
    session: Session, subscriber_ids: Sequence[int], revised: dict[int, int]
) -> dict[int, list[tuple[int, int]]]:
    """Per subscriber, (paper id, version they got) of the ``revised`` papers (id → newest
    version) they got in an older version and no "Updated" block of theirs has named yet.

    Starts from the revised papers' edition items (indexed by paper), so a chunk's query
    does not read its subscribers' whole history.
    """
    found: dict[int, list[tuple[int, int]]] = {sid: [] for sid in subscriber_ids}
    if not revised or not subscriber_ids:
        return found
    query = (
        select(Delivery.subscriber_id, EditionItem.paper_id, func.max(EditionItem.version))
        .join(Delivery, Delivery.edition_id == EditionItem.edition_id)
        .where(
            one_of(session, EditionItem.paper_id, sorted(revised)),
            one_of(session, Delivery.subscriber_id, subscriber_ids),
            Delivery.state.in_(HOLDS_PAPERS),
        )
        .group_by(Delivery.subscriber_id, EditionItem.paper_id)
    )
    rows = [row for row in session.execute(query) if row[2] < revised[row[1]]]
    if not rows:
        return found
    told = _already_told(session, sorted({row[0] for row in rows}))
    for subscriber_id, paper_id, sent in sorted(rows):
        if told.get((subscriber_id, paper_id), 0) < revised[paper_id]:
            found[subscriber_id].append((paper_id, sent))
    return found


def stored_updates(updates: Sequence[PaperUpdate]) -> list[list[int]] | None:
    """A digest's "Updated" block as ``deliveries.updates`` keeps it: [[paper id, version the
    reader had, version named], ...], or None for no block."""
    return [[u.paper.id, u.sent_version, u.paper.version] for u in updates] or None


def updated_paper_ids(stored: Sequence[Any] | None) -> set[int]:
    """The papers a stored "Updated" block names."""
    return {int(paper_id) for paper_id, _, _ in stored or ()}


def paper_updates(
    stored: Sequence[Any] | None, paper_map: dict[int, Paper]
) -> tuple[PaperUpdate, ...]:
    """A stored "Updated" block read back, with the papers of ``paper_map`` (gone ones left out)."""
    return tuple(
        PaperUpdate(paper_map[int(paper_id)], int(sent))
        for paper_id, sent, _ in stored or ()
        if int(paper_id) in paper_map
    )


def _already_told(session: Session, subscriber_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """(subscriber, paper) → the newest version an "Updated" block of theirs named."""
    told: dict[tuple[int, int], int] = {}
    query = select(Delivery.subscriber_id, Delivery.updates).where(
        one_of(session, Delivery.subscriber_id, subscriber_ids),
        Delivery.updates.is_not(None),
        Delivery.state.in_(HOLDS_PAPERS),
    )
    for subscriber_id, updates in session.execute(query):
        for paper_id, _, version in updates or ():
            key = (subscriber_id, int(paper_id))
            told[key] = max(told.get(key, 0), int(version))
    return told


def items_for(session: Session, delivery_ids: Sequence[int]) -> dict[int, list[StoredPick]]:
    """Each delivery's picks in order (none for a "nothing matched" note)."""
    query = select(Delivery.id, Delivery.edition_id).where(
        one_of(session, Delivery.id, delivery_ids)
    )
    editions = {delivery_id: edition_id for delivery_id, edition_id in session.execute(query)}
    picks = edition_picks(session, {e for e in editions.values() if e is not None})
    return {d: list(picks.get(editions.get(d) or 0, ())) for d in delivery_ids}


def edition_picks(session: Session, edition_ids: Collection[int]) -> dict[int, list[StoredPick]]:
    """Each edition's picks in order; plain values, not ORM objects (a run reads thousands).

    Editions never change once recorded, so a caller may keep these for as long as it likes.
    """
    grouped: dict[int, list[StoredPick]] = {i: [] for i in edition_ids}
    query = (
        select(
            EditionItem.edition_id,
            EditionItem.paper_id,
            EditionItem.position,
            EditionItem.score,
            EditionItem.relevance,
            EditionItem.trending,
            EditionItem.topic,
            cast(EditionItem.reasons, Text),  # decoded below, once per distinct value
        )
        .where(one_of(session, EditionItem.edition_id, grouped))
        .order_by(EditionItem.edition_id, EditionItem.position)
    )
    for (
        edition_id,
        paper_id,
        position,
        score,
        relevance,
        trending,
        topic,
        reasons,
    ) in session.execute(query):
        grouped[edition_id].append(
            StoredPick(paper_id, position, score, relevance, trending, topic, _reasons(reasons))
        )
    return grouped


@functools.lru_cache(maxsize=4096)
def _reasons(stored: str | None) -> tuple[str, ...]:
    """A pick's reasons from their stored JSON: thousands of picks share a few hundred."""
    return tuple(json.loads(stored)) if stored else ()


def edition_key(picks: Sequence[Pick]) -> EditionKey:
    """What makes two digests' picks the same edition."""
    return tuple(
        (p.paper.id, p.paper.version, p.topic, p.reasons, p.score, p.relevance, p.trending)
        for p in picks
    )


def record_editions(
    session: Session,
    new: Sequence[tuple[EditionKey, dt.date, Sequence[Pick]]],
    editions: dict[EditionKey, int],
    *,
    now: dt.datetime,
) -> None:
    """Write one edition per (key, date, picks) of ``new`` and add each key's id to ``editions``."""
    statement = insert(Edition).returning(Edition.id, sort_by_parameter_order=True)
    rows = [dict(digest_date=date, created_at=now) for _, date, _ in new]
    ids = list(session.scalars(statement, rows))
    items = [  # in _ITEM_COLUMNS order
        (
            edition_id,
            position,
            pick.paper.id,
            pick.score,
            pick.relevance,
            pick.trending,
            pick.topic,
            _reasons_json(pick.reasons),  # as the ORM's JSON type writes it
            pick.paper.version,
        )
        for edition_id, (_, _, picks) in zip(ids, new, strict=True)
        for position, pick in enumerate(picks)
    ]
    _write_items(session, items)
    editions.update((key, edition_id) for edition_id, (key, _, _) in zip(ids, new, strict=True))


@functools.lru_cache(maxsize=4096)
def _reasons_json(reasons: tuple[str, ...]) -> str:
    return json.dumps(list(reasons))


_ITEM_COLUMNS = (
    "edition_id",
    "position",
    "paper_id",
    "score",
    "relevance",
    "trending",
    "topic",
    "reasons",
    "version",
)


def _write_items(session: Session, items: Sequence[tuple[Any, ...]]) -> None:
    """The picks straight to the driver, in the session's transaction.

    Through SQLAlchemy's executemany the per-row parameter handling of a large run's picks
    cost more than ranking them. PostgreSQL gets COPY, SQLite the
    driver's own executemany.
    """
    driver: Any = session.connection().connection.driver_connection
    columns = ", ".join(_ITEM_COLUMNS)
    if session.get_bind().dialect.name == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {_ITEMS.name} ({columns}) FROM STDIN") as copy,
        ):
            for row in items:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in _ITEM_COLUMNS)
        driver.executemany(f"INSERT INTO {_ITEMS.name} ({columns}) VALUES ({marks})", items)
