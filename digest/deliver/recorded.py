"""Delivery rows read back as digests: the picks, overflow and themes exactly as planned.

The send loop composes its claimed rows from these, a batch at a time; `digest preview` shows a
planned date the same way, so the preview is the very message the run sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from digest.deliver.verp import Verp
from digest.models import Digest, OutgoingMessage, Paper, Pick, Subscriber
from digest.render.compose import Composer, DigestRenders, compose_digest
from digest.store import deliveries, editions, papers, subscribers, suppressions
from digest.store.db import Database
from digest.store.deliveries import ClaimedDelivery
from digest.store.editions import StoredPick
from digest.store.schema import Delivery
from digest.store.suppressions import SuppressionList


@dataclass(frozen=True)
class ClaimedBatch:
    """What composing a claimed batch needs, read in a few queries."""

    items: dict[int, list[StoredPick]]
    papers: dict[int, Paper]
    subscribers: dict[int, Subscriber]
    suppressed: SuppressionList


class RunReads:
    """Editions and papers read during one run, so each batch reads only what is new to it.

    Editions never change. A paper edited during the run keeps the version first read, as
    the rendering cache would show it anyway. Both are dropped when they grow past ``limit``.
    """

    def __init__(self, limit: int = 20_000) -> None:
        self.editions: dict[int, list[StoredPick]] = {}
        self.papers: dict[int, Paper] = {}
        self._limit = limit

    def load(self, session: Session, claimed: Sequence[ClaimedDelivery]) -> None:
        for known in (self.editions, self.papers):
            if len(known) > self._limit:
                known.clear()
        wanted = {row.edition_id for row in claimed if row.edition_id is not None}
        self.editions.update(editions.edition_picks(session, wanted - self.editions.keys()))
        paper_ids = {pick.paper_id for e in wanted for pick in self.editions[e]}
        paper_ids.update(i for row in claimed for i in editions.updated_paper_ids(row.updates))
        self.papers.update(papers.papers_by_ids(session, paper_ids - self.papers.keys()))


def load_claimed(db: Database, claimed: Sequence[ClaimedDelivery], reads: RunReads) -> ClaimedBatch:
    """The picks, papers, subscribers and suppression list the claimed rows are composed from."""
    with db.session() as session:
        reads.load(session, claimed)
        return ClaimedBatch(
            items={row.id: reads.editions.get(row.edition_id or 0, []) for row in claimed},
            papers=reads.papers,
            subscribers=subscribers.subscribers_by_ids(
                session, [row.subscriber_id for row in claimed]
            ),
            suppressed=suppressions.suppression_list(session),
        )


def compose_row(
    composer: Composer,
    batch: ClaimedBatch,
    row: ClaimedDelivery,
    now: dt.datetime,
    renders: DigestRenders,
    verp: Verp | None = None,
) -> OutgoingMessage | None:
    """The row's message, or None when its subscriber is no longer confirmed or is suppressed.

    The suppression list and the subscriber's state are as read when the batch was claimed.
    With ``verp``, the envelope sender names the row (bounces+<signed id>@bounce domain).
    """
    subscriber = batch.subscribers.get(row.subscriber_id)
    if (
        subscriber is None
        or subscriber.state != "confirmed"
        or subscriber.email in batch.suppressed
    ):
        return None
    digest = digest_of(row, subscriber, batch.items[row.id], batch.papers)
    _, message = compose_digest(
        composer,
        digest,
        message_id=row.message_id,
        now=now,
        nothing_matched=row.kind == "nothing",
        renders=renders,
        envelope_sender=verp.address(row.id) if verp is not None else None,
    )
    return message


def digest_of(
    row: Delivery | ClaimedDelivery,
    subscriber: Subscriber,
    items: Sequence[StoredPick],
    paper_map: dict[int, Paper],
) -> Digest:
    """The digest exactly as it was planned: the stored picks, overflow and themes."""
    return Digest(
        subscriber=subscriber,
        date=row.digest_date,
        picks=tuple(_pick(item, paper_map) for item in items if item.paper_id in paper_map),
        overflow=tuple((str(t), int(n)) for t, n in row.overflow or ()),
        themes=tuple(row.themes or ()),
        updates=editions.paper_updates(row.updates, paper_map),
    )


@dataclass(frozen=True)
class StoredDigest:
    """A recorded delivery as the send loop composes it: digest, kind and Message-ID."""

    digest: Digest
    nothing_matched: bool
    message_id: str


def stored_digest(db: Database, email: str, date: dt.date) -> StoredDigest | None:
    """The digest recorded for this subscriber and date, or None when none was planned."""
    with db.session() as session:
        subscriber = subscribers.to_subscriber(subscribers.get_row(session, email))
        row = deliveries.find_delivery(session, subscriber.id, date)
        if row is None:
            return None
        items = editions.items_for(session, [row.id])[row.id]
        wanted = {item.paper_id for item in items} | editions.updated_paper_ids(row.updates)
        paper_map = papers.papers_by_ids(session, wanted)
        digest = digest_of(row, subscriber, items, paper_map)
    return StoredDigest(digest, row.kind == "nothing", row.message_id)


def _pick(item: StoredPick, paper_map: dict[int, Paper]) -> Pick:
    paper = paper_map[item.paper_id]
    return Pick(
        paper=paper,
        score=item.score,
        relevance=item.relevance,
        trending=item.trending,
        topic=item.topic,
        reasons=item.reasons,
    )
