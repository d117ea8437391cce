"""Reads behind the web's browsing pages: search over stored papers, a subscriber's past digests.

Nothing here writes; the digest pages show what was recorded when the email was planned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from digest.models import Paper
from digest.store.deliveries import items_for
from digest.store.papers import papers_by_ids, to_papers
from digest.store.schema import Delivery, PaperRow

MAX_TERMS = 8


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


def digest_dates(session: Session, subscriber_id: int, *, limit: int = 60) -> list[dt.date]:
    """The dates of the subscriber's digests that went out, newest first."""
    query = (
        select(Delivery.digest_date)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.state == "sent")
        .order_by(Delivery.digest_date.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def archived_digest(
    session: Session, subscriber_id: int, date: dt.date
) -> list[ArchivedPick] | None:
    """The papers of the digest sent for ``date``, in email order; None when none was sent."""
    delivery_id = session.scalar(
        select(Delivery.id).where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.digest_date == date,
            Delivery.state == "sent",
        )
    )
    if delivery_id is None:
        return None
    items = items_for(session, [delivery_id])[delivery_id]
    papers = papers_by_ids(session, [item.paper_id for item in items])
    return [
        ArchivedPick(
            paper=papers[item.paper_id],
            position=item.position,
            score=item.score,
            topic=item.topic,
            reasons=tuple(item.reasons or ()),
        )
        for item in items
        if item.paper_id in papers
    ]
