"""Reports that come back after sending: stored once, matched to their delivery, then acted on.

The one entry for raw messages (``digest bounces ingest``, the IMAP fetch) is
:func:`ingest_raw`; a provider's webhook builds its :class:`BounceEvent` list itself and calls
:func:`record_report`. Both store the report byte for byte (once: see
:mod:`digest.store.bounces`), then apply the policy to each event:

- only an event whose VERP id verifies (or, with ``trust_recipient``, a signed webhook naming a
  subscriber's address) touches a subscriber; a VERP id that does not verify is ``forged``;
- ``hard``: one more hard bounce (suspended at DIGEST_BOUNCE_HARD_LIMIT, 1 by default);
- ``soft``: suspended when the decayed soft count reaches DIGEST_BOUNCE_SOFT_LIMIT;
- ``complaint``: unsubscribed and suppressed at once (reason "complaint");
- ``auto_reply`` is ignored and ``unknown`` kept; neither changes anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from digest.deliver.bounce_classify import BounceEvent, read_report
from digest.deliver.policy import BouncePolicy, soft_count
from digest.deliver.verp import Verp
from digest.store import bounces, subscribers, suppressions
from digest.store.db import Database
from digest.store.schema import BounceEventRow, Delivery, SubscriberRow

# What an event did: the ``outcome`` of each stored event and of each RecordedEvent.
OUTCOMES = (
    "suspended",  # the subscriber gets no more mail until they confirm again
    "unsubscribed",  # a complaint: unsubscribed and suppressed
    "counted",  # a bounce counted, below the limit (or the subscriber gets no mail anyway)
    "ignored",  # an auto-reply
    "kept",  # unknown: stored and reported, never acted on
    "forged",  # a VERP id whose signature does not match
    "unmatched",  # names no delivery we know
)


@dataclass(frozen=True)
class RecordedEvent:
    event: BounceEvent
    outcome: str  # one of OUTCOMES
    subscriber_id: int | None
    delivery_id: int | None


@dataclass(frozen=True)
class IngestResult:
    """What one report did; ``duplicate``: seen before, nothing was stored or changed again."""

    report_key: str
    duplicate: bool
    message_id: str | None
    subject: str
    events: tuple[RecordedEvent, ...]


def report_key(raw: bytes, message_id: str | None) -> str:
    """The report's identity: its Message-ID when it has one, else the hash of its bytes."""
    if message_id and message_id.strip():
        return hashlib.sha256(b"message-id:" + message_id.strip().encode()).hexdigest()
    return hashlib.sha256(b"raw:" + raw).hexdigest()


def ingest_raw(
    db: Database,
    raw: bytes,
    *,
    verp: Verp,
    policy: BouncePolicy,
    now: dt.datetime,
    source: str = "ingest",
) -> IngestResult:
    """Classify one raw message and record it in a transaction of its own."""
    parsed = read_report(raw)
    with db.session() as session:
        result = record_report(
            session,
            key=report_key(raw, parsed.message_id),
            source=source,
            raw=raw,
            message_id=parsed.message_id,
            events=parsed.events,
            verp=verp,
            policy=policy,
            now=now,
        )
    return IngestResult(
        result.report_key, result.duplicate, parsed.message_id, parsed.subject, result.events
    )


def record_report(
    session: Session,
    *,
    key: str,
    source: str,
    raw: bytes,
    message_id: str | None,
    events: Sequence[BounceEvent],
    verp: Verp,
    policy: BouncePolicy,
    now: dt.datetime,
    trust_recipient: bool = False,
) -> IngestResult:
    """Store a report and its events once, and apply the policy to each; in ``session``.

    ``key`` identifies the report (:func:`report_key` for a raw message; a webhook's own
    notification id otherwise); a second call with the same key changes nothing and says
    ``duplicate``. ``trust_recipient`` lets an event without a VERP id be matched by its
    recipient's address: only for sources whose signature was checked (webhooks).
    """
    report = bounces.add_report(
        session, report_key=key, source=source, message_id=message_id, raw=raw, now=now
    )
    if report is None:
        return IngestResult(key, True, message_id, "", ())
    recorded = tuple(
        _record_event(session, report.id, event, verp, policy, now, trust_recipient)
        for event in events
    )
    return IngestResult(key, False, message_id, "", recorded)


def _record_event(
    session: Session,
    report_id: int,
    event: BounceEvent,
    verp: Verp,
    policy: BouncePolicy,
    now: dt.datetime,
    trust_recipient: bool,
) -> RecordedEvent:
    delivery, outcome = _match(session, event, verp, trust_recipient)
    subscriber_id = delivery.subscriber_id if delivery is not None else None
    if subscriber_id is None and outcome is None and trust_recipient and event.recipient:
        subscriber_id = _subscriber_by_address(session, event.recipient)
    if outcome is None:
        outcome = "unmatched" if subscriber_id is None else "counted"
    row = BounceEventRow(
        report_id=report_id,
        kind=event.kind,
        recipient=(event.recipient or "")[:320] or None,
        verp_id=(event.verp_id or "")[:40] or None,
        delivery_id=_id(delivery),
        subscriber_id=subscriber_id,
        status=event.status,
        diagnostic=event.diagnostic,
        detector=event.detector[:20],
        outcome=outcome,
        created_at=now,
    )
    bounces.add_event(session, row)  # first, so a soft bounce counts itself
    if outcome == "counted" and subscriber_id is not None:
        outcome = row.outcome = apply_event(
            session, event.kind, subscriber_id, policy=policy, now=now
        )
    return RecordedEvent(event, outcome, subscriber_id, _id(delivery))


def _id(delivery: Delivery | None) -> int | None:
    return delivery.id if delivery is not None else None


def _match(
    session: Session, event: BounceEvent, verp: Verp, trust_recipient: bool
) -> tuple[Delivery | None, str | None]:
    """The delivery a verified VERP id names; else an outcome that settles the event."""
    if event.kind == "auto_reply":
        return None, "ignored"
    if event.kind == "unknown":
        return None, "kept"
    for signed in event.verp_ids:
        delivery_id = verp.delivery_id(signed)
        if delivery_id is not None:
            delivery = session.get(Delivery, delivery_id)
            return delivery, None if delivery is not None else "unmatched"
    if event.verp_ids:
        return None, "forged"
    return None, None if trust_recipient else "unmatched"


def _subscriber_by_address(session: Session, address: str) -> int | None:
    try:
        return subscribers.get_row(session, address).id
    except Exception:  # not a subscriber (or not even an address): the event stays unmatched
        return None


def apply_event(
    session: Session, kind: str, subscriber_id: int, *, policy: BouncePolicy, now: dt.datetime
) -> str:
    """What a hard, soft or complaint event does to its subscriber; returns the outcome."""
    row = session.get(SubscriberRow, subscriber_id)
    if row is None:
        return "unmatched"
    if kind == "complaint":
        suppressions.suppress(session, row.email, reason="complaint", now=now)
        if row.state != "unsubscribed":
            subscribers.set_state(session, row, "unsubscribed", now=now)
        return "unsubscribed"
    if row.state != "confirmed":
        return "counted"
    if kind == "hard":
        subscribers.record_hard_bounce(session, subscriber_id, now=now, limit=policy.hard_limit)
        return "suspended" if row.state == "suspended" else "counted"
    row.soft_bounces += 1
    return "suspended" if suspend_if_soft_limit(session, row, policy=policy, now=now) else "counted"


def suspend_if_soft_limit(
    session: Session, row: SubscriberRow, *, policy: BouncePolicy, now: dt.datetime
) -> bool:
    """Suspend a confirmed subscriber whose decayed soft count reached the limit."""
    session.flush()
    history = bounces.soft_history(session, row.id, since=policy.soft_since(now))
    if soft_count(history.soft_at, history.good_at) < policy.soft_limit:
        return False
    subscribers.set_state(session, row, "suspended", now=now)
    return True


def complaint_halt(session: Session, policy: BouncePolicy, *, now: dt.datetime) -> str | None:
    """Why sending must stop now (complaints of the last days past the rate), or None."""
    since = now - dt.timedelta(days=policy.complaint_days)
    complaints, sent = bounces.complaints_and_sent(session, since=since)
    if not policy.complaints_too_many(complaints, sent):
        return None
    rate = f"{complaints / sent:.2%}" if sent else "no digest sent"
    return (
        f"sending stopped: {complaints} complaints for {sent} digests sent in the last"
        f" {policy.complaint_days} days ({rate}) pass DIGEST_BOUNCE_COMPLAINT_RATE"
        f" {policy.complaint_rate:.2%}; find the cause before sending again"
    )
