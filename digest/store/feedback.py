""" "More like this" / "less like this" clicks from digest emails, recorded as they come.

Moving the profile with them is the ranker's business; this module only keeps the facts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.store.schema import Feedback

DIRECTIONS = ("more", "less")


def record_feedback(
    session: Session, subscriber_id: int, paper_id: int, direction: str, *, now: dt.datetime
) -> bool:
    """Store one click; False when the same (paper, direction) was already recorded.

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
    return True


def feedback_for(session: Session, subscriber_id: int) -> dict[int, str]:
    """paper id → the direction last recorded for it."""
    query = select(Feedback.paper_id, Feedback.direction).where(
        Feedback.subscriber_id == subscriber_id
    )
    return {paper_id: direction for paper_id, direction in session.execute(query)}
