""" "More like this" / "less like this" clicks from digest emails: recorded, then applied.

:func:`record_feedback` keeps the fact and moves the subscriber's profile at once (via
:func:`apply_feedback`), so the next digest and ``digest preview`` already reflect the click.
How a click moves a profile is decided by :mod:`digest.rank.feedback`; this module does the I/O.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.rank.feedback import profile_after_feedback
from digest.store import papers, subscribers
from digest.store.schema import Feedback, SubscriberRow

DIRECTIONS = ("more", "less")


def record_feedback(
    session: Session, subscriber_id: int, paper_id: int, direction: str, *, now: dt.datetime
) -> bool:
    """Store one click and apply it; False when the same (paper, direction) was already recorded.

    A second click on the same link (or a mail scanner plus the person) counts once, and the
    latest direction for a paper wins: "less" after "more" replaces it.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"feedback direction must be one of {DIRECTIONS}: {direction!r}")
    existing = session.scalar(
        select(Feedback).where(
            Feedback.subscriber_id == subscriber_id, Feedback.paper_id == paper_id
        )
    )
    if existing is not None and existing.direction == direction:
        return False
    if existing is not None:
        existing.direction, existing.created_at = direction, now
    else:
        session.add(
            Feedback(
                subscriber_id=subscriber_id, paper_id=paper_id, direction=direction, created_at=now
            )
        )
    session.flush()
    apply_feedback(session, subscriber_id, paper_id, direction)
    return True


def apply_feedback(session: Session, subscriber_id: int, paper_id: int, direction: str) -> bool:
    """Move the subscriber's profile for one click; False when paper or subscriber is gone."""
    row = session.get(SubscriberRow, subscriber_id)
    paper = papers.papers_by_ids(session, [paper_id]).get(paper_id)
    if row is None or paper is None:
        return False
    profile = subscribers.profile_from_json(row.profile or {})
    row.profile = subscribers.profile_to_json(profile_after_feedback(profile, paper, direction))
    session.flush()
    return True


def feedback_for(session: Session, subscriber_id: int) -> dict[int, str]:
    """paper id → the direction last recorded for it."""
    query = select(Feedback.paper_id, Feedback.direction).where(
        Feedback.subscriber_id == subscriber_id
    )
    return {paper_id: direction for paper_id, direction in session.execute(query)}
