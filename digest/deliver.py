"""The send loop: recover → claim → compose → send → record, resumable at every step.

The outbox is the database: a delivery is claimed (state `sending`), the moment DATA begins is
committed before the bytes go out, and the outcome is committed right after. So a crash leaves
each row either untouched (sent again), or marked as begun (reported as ambiguous, never
resent automatically).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.addresses import email_hash
from digest.compose import compose_digest
from digest.models import Digest, OutgoingMessage, Paper, Pick
from digest.service import Service
from digest.store import deliveries, papers, subscribers
from digest.store.db import Session
from digest.store.schema import Delivery, DeliveryItem
from digest.transport import OutboxDir, SendResult, SmtpPool, Transport

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(hours=1)
BACKOFF_BASE = dt.timedelta(minutes=10)
BACKOFF_CAP = dt.timedelta(hours=8)
HARD_BOUNCE_LIMIT = 1


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    ambiguous: int = 0
    skipped: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    outbox: Path | None = None


def backoff_delay(attempts: int, rng: random.Random) -> dt.timedelta:
    """Exponential backoff with full jitter in its upper half, so retries do not stampede."""
    ceiling = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return ceiling * (0.5 + rng.random() / 2)


def deliver_due(
    service: Service, *, now: dt.datetime, subscriber_id: int | None = None, batch_size: int = 200
) -> DeliveryReport:
    """Send every due delivery (or one subscriber's); returns what happened to them."""
    report = DeliveryReport()
    with service.db.session() as session:
        report.recovered = deliveries.recover_abandoned(session, now=now, stale_after=STALE_CLAIM)
    report.ambiguous += report.recovered.get("ambiguous", 0)
    asyncio.run(_deliver(service, now, subscriber_id, batch_size, report))
    return report


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
    )


async def _deliver(
    service: Service,
    now: dt.datetime,
    subscriber_id: int | None,
    batch_size: int,
    report: DeliveryReport,
) -> None:
    rng = random.Random()
    delivery_of: dict[str, int] = {}

    def data_started(message: OutgoingMessage) -> None:
        with service.db.session() as session:
            deliveries.mark_data_started(session, delivery_of[message.message_id], now)

    async def send_and_record(transport: Transport, message: OutgoingMessage) -> None:
        result = await transport.send(message, on_data_start=data_started)
        with service.db.session() as session:  # at once: a crash later must not lose it
            _record(session, delivery_of[message.message_id], result, now, rng, service, report)

    async with _open_transport(service, report) as transport:
        while True:
            with service.db.session() as session:
                claimed = deliveries.claim_due(
                    session, now=now, limit=batch_size, subscriber_id=subscriber_id
                )
                outgoing = _compose_claimed(service, session, claimed, now, report)
            if not claimed:
                return
            delivery_of.update(
                (message.message_id, delivery_id) for delivery_id, message in outgoing
            )
            await asyncio.gather(*(send_and_record(transport, m) for _, m in outgoing))


def _compose_claimed(
    service: Service,
    session: Session,
    claimed: Sequence[Delivery],
    now: dt.datetime,
    report: DeliveryReport,
) -> list[tuple[int, OutgoingMessage]]:
    """Turn claimed rows back into messages; rows for suppressed addresses are skipped."""
    if not claimed:
        return []
    items = deliveries.items_for(session, [row.id for row in claimed])
    paper_map = papers.papers_by_ids(session, {i.paper_id for rows in items.values() for i in rows})
    suppressed = subscribers.suppressed_hashes(session)
    outgoing = []
    for row in claimed:
        subscriber = subscribers.get_subscriber_by_id(session, row.subscriber_id)
        if (
            subscriber is None
            or subscriber.state != "confirmed"
            or (email_hash(subscriber.email) in suppressed)
        ):
            deliveries.record_outcome(
                session,
                row.id,
                state="skipped",
                code=None,
                now=now,
                message="subscriber no longer confirmed or suppressed",
            )
            report.skipped += 1
            continue
        digest = Digest(
            subscriber=subscriber,
            date=row.digest_date,
            picks=tuple(
                _pick(item, paper_map) for item in items[row.id] if item.paper_id in paper_map
            ),
            overflow=tuple((str(t), int(n)) for t, n in row.overflow or ()),
            themes=tuple(row.themes or ()),
        )
        _, message = compose_digest(
            service,
            digest,
            message_id=row.message_id,
            now=now,
            nothing_matched=row.kind == "nothing",
        )
        outgoing.append((row.id, message))
    return outgoing


def _pick(item: DeliveryItem, paper_map: dict[int, Paper]) -> Pick:
    paper = paper_map[item.paper_id]
    return Pick(
        paper=paper,
        score=item.score,
        relevance=item.relevance,
        trending=item.trending,
        topic=item.topic,
        reasons=tuple(item.reasons or ()),
    )


def _record(
    session: Session,
    delivery_id: int,
    result: SendResult,
    now: dt.datetime,
    rng: random.Random,
    service: Service,
    report: DeliveryReport,
) -> None:
    detail = result.detail
    if result.outcome == "sent":
        deliveries.record_outcome(
            session, delivery_id, state="sent", code=result.code, message=detail, now=now
        )
        report.sent += 1
        return
    if result.outcome == "ambiguous":
        deliveries.record_outcome(
            session, delivery_id, state="ambiguous", code=result.code, message=detail, now=now
        )
        report.ambiguous += 1
        return
    row = session.get(Delivery, delivery_id)
    assert row is not None
    count_attempt = not result.data_started  # attempts already counted when DATA began
    attempts = row.attempts + (1 if count_attempt else 0)
    if result.outcome == "temporary" and attempts < service.settings.smtp_max_attempts:
        deliveries.record_outcome(
            session,
            delivery_id,
            state="deferred",
            code=result.code,
            message=detail,
            now=now,
            count_attempt=count_attempt,
            next_attempt_at=now + backoff_delay(attempts, rng),
        )
        report.deferred += 1
        return
    deliveries.record_outcome(
        session,
        delivery_id,
        state="failed",
        code=result.code,
        message=detail,
        now=now,
        count_attempt=count_attempt,
    )
    report.failed += 1
    if result.outcome == "permanent":
        subscribers.record_hard_bounce(session, row.subscriber_id, now=now, limit=HARD_BOUNCE_LIMIT)
