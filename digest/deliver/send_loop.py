"""The send loop: recover → claim → compose → send → record, resumable at every step.

The outbox is the database: a delivery is claimed (state `sending`), the moment DATA begins is
committed before the bytes go out, and outcomes are committed in small batches right after
(:mod:`digest.deliver.outcomes`). So a crash leaves each row either untouched (sent again), or marked as
begun (reported as ambiguous, never resent automatically).

Rows are claimed a batch at a time and composed lazily as connections free up, so the pool keeps
sending while the next messages are rendered. The suppression list and the subscriber's state
are checked when a row is composed, just before its message is handed to the transport.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from digest.addresses import email_hash
from digest.deliver.outcomes import Attempt, DeliveryReport, OutcomeRecorder, backoff_delay
from digest.deliver.transport import OutboxDir, SendResult, SmtpPool, Transport
from digest.models import Digest, OutgoingMessage, Paper, Pick, Subscriber
from digest.render.compose import DigestRenders, compose_digest
from digest.service import Service
from digest.store import deliveries, editions, papers, subscribers
from digest.store.deliveries import ClaimedDelivery
from digest.store.editions import StoredPick
from digest.store.schema import Delivery
from digest.store.send_journal import SendJournal

__all__ = ["DeliveryReport", "backoff_delay", "deliver_due", "StoredDigest", "stored_digest"]

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(hours=1)
POLL_INTERVAL = 0.05  # seconds between claims while another process is still planning


def deliver_due(
    service: Service,
    *,
    now: dt.datetime,
    subscriber_id: int | None = None,
    batch_size: int = 200,
    recover: bool = True,
    more_coming: Callable[[], bool] | None = None,
    share: tuple[int, int] | None = None,
) -> DeliveryReport:
    """Send every due delivery (or one subscriber's); returns what happened to them.

    ``more_coming``, when given, is asked whenever nothing is left to claim: while it says
    True (another process is still recording deliveries) the loop waits for more instead of
    ending. ``recover=False`` leaves abandoned claims to the caller (see
    :func:`recover_abandoned`). ``share`` (k, n): this is process k of n sending together; it
    takes rows of its own share of the editions first (see deliveries.claim_due), so each
    edition is mostly rendered by one process, then any due row.
    """
    report = DeliveryReport()
    if recover:
        recover_abandoned(service, now, report)
    asyncio.run(_deliver(service, now, subscriber_id, batch_size, report, more_coming, share))
    return report


def recover_abandoned(service: Service, now: dt.datetime, report: DeliveryReport) -> None:
    """Settle the claims of processes no longer running (see deliveries.recover_abandoned)."""
    with service.db.session() as session:
        report.recovered = deliveries.recover_abandoned(session, now=now, stale_after=STALE_CLAIM)
    report.ambiguous += report.recovered.get("ambiguous", 0)


def _open_transport(service: Service, report: DeliveryReport) -> Transport:
    settings = service.settings
    target = settings.smtp
    if target is None:
        report.outbox = settings.outbox_dir.resolve()
        return OutboxDir(settings.outbox_dir)
    return SmtpPool(
        target,
        size=settings.smtp_pool_size,
        messages_per_connection=settings.smtp_messages_per_connection,
        timeout=target.timeout,
        max_per_second=settings.smtp_max_per_second,
    )


async def _deliver(
    service: Service,
    now: dt.datetime,
    subscriber_id: int | None,
    batch_size: int,
    report: DeliveryReport,
    more_coming: Callable[[], bool] | None = None,
    share: tuple[int, int] | None = None,
) -> None:
    recorder = OutcomeRecorder(
        service.db, service.settings, report, now=now, rng=random.Random(), batch=batch_size // 4
    )
    in_flight: dict[str, ClaimedDelivery] = {}
    unmarked: set[str] = set()  # handed to the transport, not yet at DATA nor finished
    journal = SendJournal(service.db.engine, marks_coming=unmarked.__len__)
    renders = DigestRenders(service.composer)
    reads = _RunReads()

    async def data_started(message: OutgoingMessage) -> None:
        unmarked.discard(message.message_id)
        finished = recorder.take_finals()  # committed with the mark: a crash now leaves them sent
        await journal.data_started(in_flight[message.message_id].id, finished, now)  # durable
        recorder.count_finals(finished)  # before the body goes out

    def finished(result: SendResult) -> None:
        row = in_flight.pop(result.message_id)
        if result.message_id in unmarked:
            unmarked.discard(result.message_id)
            journal.nudge()
        recorder.add(Attempt(row.id, row.subscriber_id, row.attempts, result))

    def claim(only: tuple[int, int] | None) -> list[ClaimedDelivery]:
        with service.db.session() as session:
            return deliveries.claim_due(
                session, now=now, limit=batch_size, subscriber_id=subscriber_id, share=only
            )

    async def claimed_messages() -> AsyncIterator[OutgoingMessage]:
        while True:
            waiting = more_coming is not None and more_coming()  # asked before the claim, so
            claimed = claim(share) if share else []  # rows recorded before "no more" are seen
            claimed = claimed or claim(None)
            if not claimed:
                if not waiting:
                    return
                await asyncio.sleep(POLL_INTERVAL)
                continue
            batch = _load_claimed(service, claimed, reads)
            skipped: list[int] = []
            for row in claimed:
                message = _compose_row(service, batch, row, now, renders)
                if message is None:
                    skipped.append(row.id)
                    continue
                in_flight[message.message_id] = row
                unmarked.add(message.message_id)
                yield message
            _record_skipped(service, skipped, now, report)

    try:
        async with _open_transport(service, report) as transport:
            await transport.send_many(
                claimed_messages(), on_data_start=data_started, on_result=finished
            )
    finally:
        await journal.aclose()
        recorder.flush()


@dataclass(frozen=True)
class _ClaimedBatch:
    """What composing a claimed batch needs, read in a few queries."""

    items: dict[int, list[StoredPick]]
    papers: dict[int, Paper]
    subscribers: dict[int, Subscriber]
    suppressed: frozenset[str]


class _RunReads:
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
        self.papers.update(papers.papers_by_ids(session, paper_ids - self.papers.keys()))


def _load_claimed(
    service: Service, claimed: Sequence[ClaimedDelivery], reads: _RunReads
) -> _ClaimedBatch:
    with service.db.session() as session:
        reads.load(session, claimed)
        return _ClaimedBatch(
            items={row.id: reads.editions.get(row.edition_id or 0, []) for row in claimed},
            papers=reads.papers,
            subscribers=subscribers.subscribers_by_ids(
                session, [row.subscriber_id for row in claimed]
            ),
            suppressed=frozenset(subscribers.suppressed_hashes(session)),
        )


def _compose_row(
    service: Service,
    batch: _ClaimedBatch,
    row: ClaimedDelivery,
    now: dt.datetime,
    renders: DigestRenders,
) -> OutgoingMessage | None:
    """The row's message, or None when its subscriber is no longer confirmed or is suppressed.

    The suppression list and the subscriber's state are as read when the batch was claimed.
    """
    subscriber = batch.subscribers.get(row.subscriber_id)
    if (
        subscriber is None
        or subscriber.state != "confirmed"
        or email_hash(subscriber.email) in batch.suppressed
    ):
        return None
    digest = _digest_of(row, subscriber, batch.items[row.id], batch.papers)
    _, message = compose_digest(
        service.composer,
        digest,
        message_id=row.message_id,
        now=now,
        nothing_matched=row.kind == "nothing",
        renders=renders,
    )
    return message


def _record_skipped(
    service: Service, delivery_ids: Sequence[int], now: dt.datetime, report: DeliveryReport
) -> None:
    if not delivery_ids:
        return
    with service.db.session() as session:
        for delivery_id in delivery_ids:
            deliveries.record_outcome(
                session,
                delivery_id,
                state="skipped",
                code=None,
                now=now,
                message="subscriber no longer confirmed or suppressed",
            )
    report.skipped += len(delivery_ids)


def _digest_of(
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
    )


@dataclass(frozen=True)
class StoredDigest:
    """A recorded delivery as the send loop composes it: digest, kind and Message-ID."""

    digest: Digest
    nothing_matched: bool
    message_id: str


def stored_digest(service: Service, email: str, date: dt.date) -> StoredDigest | None:
    """The digest recorded for this subscriber and date, or None when none was planned."""
    with service.db.session() as session:
        subscriber = subscribers.to_subscriber(subscribers.get_row(session, email))
        row = deliveries.find_delivery(session, subscriber.id, date)
        if row is None:
            return None
        items = editions.items_for(session, [row.id])[row.id]
        paper_map = papers.papers_by_ids(session, {item.paper_id for item in items})
        digest = _digest_of(row, subscriber, items, paper_map)
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
