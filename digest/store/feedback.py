""" "More like this" / "less like this" clicks from digest emails: recorded, then applied.

:func:`record_feedback` keeps the fact and moves the subscriber's profile at once (via
:func:`apply_feedback`, and :func:`learn_taste` for the per-reader model on paper embeddings),
so the next digest and ``digest preview`` already reflect the click.
How a click moves a profile is decided by :mod:`digest.rank.feedback`; this module does the I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.models import LearntTaste
from digest.rank.clicks import train_taste
from digest.rank.embeddings import Embedder
from digest.rank.feedback import profile_after_feedback
from digest.store import embeddings, papers, subscribers
from digest.store.schema import Feedback, PaperEmbedding, SubscriberRow

DIRECTIONS = ("more", "less")
BACKGROUND_PAPERS = 40  # sampled negatives for the reader's model
BACKGROUND_POOL = 2000  # drawn from this many most recent embedded papers


def record_feedback(
    session: Session,
    subscriber_id: int,
    paper_id: int,
    direction: str,
    *,
    now: dt.datetime,
    embedder: Embedder | None = None,
) -> bool:
    """Store one click and apply it; False when the same (paper, direction) was already recorded.

    A second click on the same link (or a mail scanner plus the person) counts once, and the
    latest direction for a paper wins: "less" after "more" replaces it. With an ``embedder``
    the reader's learnt taste (:mod:`digest.rank.clicks`) is trained again on all their ratings.
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
    if embedder is not None:
        learn_taste(session, subscriber_id, embedder, now=now)
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


def learn_taste(
    session: Session, subscriber_id: int, embedder: Embedder, *, now: dt.datetime
) -> LearntTaste | None:
    """Train the reader's model on every rating they made and keep it beside their topics."""
    row = session.get(SubscriberRow, subscriber_id)
    if row is None:
        return None
    rated = feedback_for(session, subscriber_id)
    found = papers.papers_by_ids(session, [*rated, *background_ids(session, embedder, rated)])
    liked = [found[i] for i in sorted(rated) if i in found and rated[i] == "more"]
    disliked = [found[i] for i in sorted(rated) if i in found and rated[i] == "less"]
    others = [p for i, p in sorted(found.items()) if i not in rated]
    vectors = [
        embeddings.vectors_for(session, group, embedder, now=now)
        for group in (liked, disliked, others)
    ]
    dim = max(v.shape[1] for v in vectors)
    taste = train_taste(embedder.name, *(v.reshape(len(v), dim) for v in vectors))
    profile = subscribers.profile_from_json(row.profile or {})
    row.profile = subscribers.profile_to_json(dataclasses.replace(profile, learnt=taste))
    session.flush()
    return taste


def background_ids(session: Session, embedder: Embedder, rated: Collection[int]) -> list[int]:
    """BACKGROUND_PAPERS recent embedded papers, evenly spaced, none of them rated."""
    query = (
        select(PaperEmbedding.paper_id)
        .where(PaperEmbedding.model == embedder.name)
        .order_by(PaperEmbedding.paper_id.desc())
        .limit(BACKGROUND_POOL)
    )
    pool = [i for i in session.scalars(query) if i not in rated]
    step = max(len(pool) // BACKGROUND_PAPERS, 1)
    return pool[::step][:BACKGROUND_PAPERS]


def feedback_for(session: Session, subscriber_id: int) -> dict[int, str]:
    """paper id → the direction last recorded for it."""
    query = select(Feedback.paper_id, Feedback.direction).where(
        Feedback.subscriber_id == subscriber_id
    )
    return {paper_id: direction for paper_id, direction in session.execute(query)}
