"""The send loop: recover → claim → compose → send → record, resumable at every step.

The outbox is the database: a delivery is claimed (state `sending`), the moment DATA begins is
committed before the bytes go out, and outcomes are committed in small batches right after
(:mod:`digest.deliver.outcomes`). So a crash leaves each row either untouched (sent again), or
marked as begun (reported as ambiguous, never resent automatically).

Rows are claimed a batch at a time and composed lazily as connections free up, so the pool keeps
sending while the next messages are rendered. The suppression list and the subscriber's state
are checked when a row is composed, just before its message is handed to the transport.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.deliver.bounces import complaint_halt
from digest.deliver.outcomes import Attempt, DeliveryReport, OutcomeRecorder, backoff_delay
from digest.deliver.policy import BouncePolicy, RetryPolicy
from digest.deliver.recorded import RunReads, StoredDigest, compose_row, load_claimed
from digest.deliver.recorded import stored_digest as stored_digest
from digest.deliver.transport import SendResult, Transport
from digest.deliver.verp import Verp
from digest.models import OutgoingMessage
from digest.render.compose import Composer, DigestRenders
from digest.store import deliveries
from digest.store.db import Database
from digest.store.deliveries import ClaimedDelivery
from digest.store.send_journal import SendJournal

__all__ = [
    "DeliveryParts",
    "DeliveryReport",
    "StoredDigest",
    "backoff_delay",
    "deliver_due",
    "recover_abandoned",
    "stored_digest",
]

POLL_INTERVAL = 0.05  # seconds between claims while another process is still planning


@dataclass(frozen=True)
class DeliveryParts:
    """What the send loop works with; the entry points build it (``Service.delivery``).

    ``open_transport`` is called inside the loop's own event loop, once per run. ``outbox`` is
    the folder the transport writes to instead of sending (None for SMTP), for the report.
    ``verp`` gives each message an envelope sender of its own, so later reports find it.
    """

    db: Database
    composer: Composer
    open_transport: Callable[[], Transport]
    retry: RetryPolicy
    bounces: BouncePolicy
    outbox: Path | None = None
    verp: Verp | None = None  # signs each message's envelope sender; None: the From address


def deliver_due(
    parts: DeliveryParts,
    *,
    now: dt.datetime,
    subscriber_id: int | None = None,
    batch_size: int = 200,
    recover: bool = True,
    more_coming: Callable[[], bool] | None = None,
    share: tuple[int, int] | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Send every due delivery (or one subscriber's); returns what happened to them.

    ``more_coming``, when given, is asked whenever nothing is left to claim: while it says
    True (another process is still recording deliveries) the loop waits for more instead of
    ending. ``recover=False`` leaves abandoned claims to the caller (see
    :func:`recover_abandoned`). ``share`` (k, n): this is process k of n sending together; it
    takes rows of its own share of the editions first (see deliveries.claim_due), so each
    edition is mostly rendered by one process, then any due row. Once ``stopped`` says True
    no further message is started; those already handed to the transport finish and are
    recorded, and rows claimed but not started are settled by the next run, as after a crash.
    """
    report = DeliveryReport(outbox=parts.outbox)
    if recover:
        recover_abandoned(parts, now, report)
    with parts.db.session() as session:
        report.halted = complaint_halt(session, parts.bounces, now=now)
    if report.halted:  # the rows stay pending: sent once the rate has fallen
        return report
    run = _SendRun(parts, now, report, subscriber_id=subscriber_id, batch_size=batch_size)
    run.stopped = stopped
    asyncio.run(run.send_all(more_coming, share))
    return report


def recover_abandoned(parts: DeliveryParts, now: dt.datetime, report: DeliveryReport) -> None:
    """Settle the claims of processes no longer running (see deliveries.recover_abandoned)."""
    with parts.db.session() as session:
        report.recovered = deliveries.recover_abandoned(
            session, now=now, stale_after=parts.retry.stale_claim
        )
    report.ambiguous += report.recovered.get("ambiguous", 0)


class _SendRun:
    """One pass of the loop: the rows in flight, and the journal and recorder that keep them.

    A row is "unmarked" from the moment its message is handed to the transport until it reaches
    DATA or finishes; the journal's group commit waits briefly for those (see SendJournal).
    """

    def __init__(
        self,
        parts: DeliveryParts,
        now: dt.datetime,
        report: DeliveryReport,
        *,
        subscriber_id: int | None,
        batch_size: int,
    ) -> None:
        self.parts, self.now, self.report = parts, now, report
        self.subscriber_id, self.batch_size = subscriber_id, batch_size
        self.recorder = OutcomeRecorder(
            parts.db,
            parts.retry,
            parts.bounces,
            report,
            now=now,
            rng=random.Random(),
            batch=batch_size // 4,
        )
        self.in_flight: dict[str, ClaimedDelivery] = {}
        self.unmarked: set[str] = set()
        self.journal = SendJournal(parts.db.engine, marks_coming=self.unmarked.__len__)
        self.renders = DigestRenders(parts.composer)
        self.stopped: Callable[[], bool] = lambda: False
        self.reads = RunReads()

    async def send_all(
        self, more_coming: Callable[[], bool] | None, share: tuple[int, int] | None
    ) -> None:
        try:
            async with self.parts.open_transport() as transport:
                await transport.send_many(
                    self.claimed_messages(more_coming, share),
                    on_data_start=self.data_started,
                    on_result=self.finished,
                )
        finally:
            await self.journal.aclose()
            self.recorder.flush()

    async def data_started(self, message: OutgoingMessage) -> None:
        """Durable before the body goes out: the mark, and the outcomes finished since."""
        self.unmarked.discard(message.message_id)
        finished = self.recorder.take_finals()  # with the mark: a crash now leaves them sent
        row = self.in_flight[message.message_id]
        await self.journal.data_started(row.id, finished, self.now)  # durable
        self.recorder.count_finals(finished)  # before the body goes out

    def finished(self, result: SendResult) -> None:
        row = self.in_flight.pop(result.message_id)
        if result.message_id in self.unmarked:
            self.unmarked.discard(result.message_id)
            self.journal.nudge()
        self.recorder.add(Attempt(row.id, row.subscriber_id, row.attempts, result))

    def claim(self, share: tuple[int, int] | None) -> list[ClaimedDelivery]:
        with self.parts.db.session() as session:
            return deliveries.claim_due(
                session,
                now=self.now,
                limit=self.batch_size,
                subscriber_id=self.subscriber_id,
                share=share,
            )

    async def claimed_messages(
        self, more_coming: Callable[[], bool] | None, share: tuple[int, int] | None
    ) -> AsyncIterator[OutgoingMessage]:
        """Claimed rows as messages, batch after batch, until nothing is due (or coming)."""
        while not self.stopped():
            waiting = more_coming is not None and more_coming()  # asked before the claim, so
            claimed = self.claim(share) if share else []  # rows recorded before "no more" are seen
            claimed = claimed or self.claim(None)
            if not claimed:
                if not waiting:
                    return
                await asyncio.sleep(POLL_INTERVAL)
                continue
            for row, message in self.composed(claimed):
                if self.stopped():
                    return
                self.in_flight[message.message_id] = row
                self.unmarked.add(message.message_id)
                yield message

    def composed(
        self, claimed: Sequence[ClaimedDelivery]
    ) -> Iterator[tuple[ClaimedDelivery, OutgoingMessage]]:
        """Each claimed row with its message, composed as the transport asks for the next one.

        Rows whose subscriber may no longer get mail are recorded as skipped after the batch.
        """
        batch = load_claimed(self.parts.db, claimed, self.reads)
        skipped: list[int] = []
        for row in claimed:
            message = compose_row(
                self.parts.composer, batch, row, self.now, self.renders, self.parts.verp
            )
            if message is None:
                skipped.append(row.id)
            else:
                yield row, message
        _record_skipped(self.parts.db, skipped, self.now, self.report)


def _record_skipped(
    db: Database, delivery_ids: Sequence[int], now: dt.datetime, report: DeliveryReport
) -> None:
    if not delivery_ids:
        return
    with db.session() as session:
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
