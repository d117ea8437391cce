"""Reads behind the web's browsing pages: search over stored papers, a subscriber's past digests.

Nothing here writes; the digest pages and the Atom feed show what was recorded when the email
was planned. A digest counts once it may have reached the reader: ``sent``, or ``ambiguous``
(the server took the message but the connection broke before it said so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from digest.models import Paper, PaperUpdate
from digest.store.editions import items_for, paper_updates, updated_paper_ids
from digest.store.papers import papers_by_ids, to_papers
from digest.store.schema import Delivery, PaperRow

MAX_TERMS = 8
DELIVERED_STATES = ("sent", "ambiguous")


@dataclass(frozen=True)
class ArchivedPick:
    """One paper of a past digest, with what the ranker said about it then."""

    paper: Paper
    position: int
    score: float
    topic: str | None
    reasons: tuple[str, ...]


def _like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_papers(session: Session, query: str, *, limit: int = 50) -> list[Paper]:
    """Papers whose title or abstract holds every word of ``query``, newest first.

    A plain substring match (case-insensitive), the same on SQLite and PostgreSQL.
    """
    terms = [t for t in query.split() if t][:MAX_TERMS]
    if not terms:
        return []
    conditions = [
        or_(
            func.lower(PaperRow.title).like(_like_pattern(t), escape="\\"),
            func.lower(PaperRow.abstract).like(_like_pattern(t), escape="\\"),
        )
        for t in terms
    ]
    rows = session.scalars(
        select(PaperRow)
        .where(and_(*conditions))
        .order_by(PaperRow.announced_at.desc(), PaperRow.id.desc())
        .limit(limit)
    )
    return to_papers(session, rows)


def _delivered_to(subscriber_id: int) -> tuple[ColumnElement[bool], ...]:
    """The subscriber's digests that reached them (or may have): what the archive shows."""
    return (
        Delivery.subscriber_id == subscriber_id,
        Delivery.state.in_(DELIVERED_STATES),
        Delivery.kind == "digest",
    )


def digest_dates(session: Session, subscriber_id: int, *, limit: int = 60) -> list[dt.date]:
    """The dates of the subscriber's digests that reached them (or may have), newest first."""
    query = (
        select(Delivery.digest_date)
        .where(*_delivered_to(subscriber_id))
        .order_by(Delivery.digest_date.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class ArchivedDigest:
    """One delivered digest: its date, when it went out, its themes, "+N more" and its papers."""

    date: dt.date
    sent_at: dt.datetime
    themes: tuple[str, ...]
    overflow: tuple[tuple[str, int], ...]
    picks: tuple[ArchivedPick, ...]
    updates: tuple[PaperUpdate, ...] = ()  # the email's "Updated" block


def _archived(session: Session, rows: list[Delivery]) -> list[ArchivedDigest]:
    items = items_for(session, [row.id for row in rows])
    wanted = [i.paper_id for row in rows for i in items.get(row.id, [])]
    wanted += [i for row in rows for i in updated_paper_ids(row.updates)]
    papers = papers_by_ids(session, wanted)
    return [
        ArchivedDigest(
            date=row.digest_date,
            sent_at=row.sent_at or row.updated_at,
            themes=tuple(str(t) for t in row.themes or ()),
            overflow=tuple((str(t), int(n)) for t, n in row.overflow or ()),
            picks=tuple(
                ArchivedPick(
                    paper=papers[item.paper_id],
                    position=item.position,
                    score=item.score,
                    topic=item.topic,
                    reasons=item.reasons,
                )
                for item in items.get(row.id, [])
                if item.paper_id in papers
            ),
            updates=paper_updates(row.updates, papers),
        )
        for row in rows
    ]


def delivered_digest(session: Session, subscriber_id: int, date: dt.date) -> ArchivedDigest | None:
    """The digest that went out for ``date``, papers in email order; None when none did."""
    rows = session.scalars(
        select(Delivery).where(*_delivered_to(subscriber_id), Delivery.digest_date == date)
    )
    found = _archived(session, list(rows))
    return found[0] if found else None


def recent_digests(
    session: Session, subscriber_id: int, *, limit: int = 20
) -> list[ArchivedDigest]:
    """The newest delivered digests, newest first: what the subscriber's Atom feed carries."""
    rows = session.scalars(
        select(Delivery)
        .where(*_delivered_to(subscriber_id))
        .order_by(Delivery.digest_date.desc())
        .limit(limit)
    )
    return _archived(session, list(rows))


def archived_digest(
    session: Session, subscriber_id: int, date: dt.date
) -> list[ArchivedPick] | None:
    """The papers of the digest delivered for ``date``, in email order; None when none was."""
    found = delivered_digest(session, subscriber_id, date)
    return list(found.picks) if found else None


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery as stored, whatever became of it, with its picks: for the data export."""

    date: dt.date
    kind: str
    state: str
    attempts: int
    last_code: int | None
    last_message: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    themes: tuple[str, ...]
    picks: tuple[ArchivedPick, ...]


def delivery_history(session: Session, subscriber_id: int) -> list[DeliveryRecord]:
    """Every delivery of the subscriber, oldest first, failed and pending ones too."""
    rows = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(Delivery.digest_date, Delivery.id)
        )
    )
    digests = _archived(session, rows)
    return [
        DeliveryRecord(
            date=row.digest_date,
            kind=row.kind,
            state=row.state,
            attempts=row.attempts,
            last_code=row.last_code,
            last_message=row.last_message,
            created_at=row.created_at,
            sent_at=row.sent_at,
            themes=digest.themes,
            picks=digest.picks,
        )
        for row, digest in zip(rows, digests, strict=True)
    ]
