"""Bounce reports and their events: stored once each, and the counts the policy reads.

A report is stored under a key (its Message-ID, else a hash of its bytes; a webhook's own
notification id), so the same report read twice, from a file and from IMAP say, counts once.
Deciding what an event does is :mod:`digest.deliver.bounces`; this module only does the SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digest.store.schema import BounceEventRow, BounceReport, Delivery

COUNTED_KINDS = ("hard", "soft")


def find_report(session: Session, report_key: str) -> BounceReport | None:
    return session.scalars(
        select(BounceReport).where(BounceReport.report_key == report_key)
    ).first()


def add_report(
    session: Session,
    *,
    report_key: str,
    source: str,
    message_id: str | None,
    raw: bytes,
    now: dt.datetime,
) -> BounceReport | None:
    """Store the report; None when one with the same key is there already (or lands first)."""
    if find_report(session, report_key) is not None:
        return None
    row = BounceReport(
        report_key=report_key,
        source=source,
        message_id=(message_id or "")[:255] or None,
        raw=raw,
        received_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent reader of the same report wins cleanly
            session.add(row)
    except IntegrityError:
        return None
    return row


def add_event(session: Session, row: BounceEventRow) -> None:
    session.add(row)
    session.flush()


@dataclass(frozen=True)
class SoftHistory:
    """What the soft-bounce count of one subscriber is made of, within the window."""

    soft_at: tuple[dt.datetime, ...]  # soft bounces: reports, and digests that failed softly
    good_at: tuple[dt.datetime, ...]  # digests sent with no bounce reported for them


def soft_history(session: Session, subscriber_id: int, *, since: dt.datetime) -> SoftHistory:
    reported = select(BounceEventRow.created_at).where(
        BounceEventRow.subscriber_id == subscriber_id,
        BounceEventRow.kind == "soft",
        BounceEventRow.created_at >= since,
    )
    failed = select(Delivery.updated_at).where(
        Delivery.subscriber_id == subscriber_id,
        Delivery.state == "failed",
        Delivery.updated_at >= since,
        (Delivery.last_code.is_(None)) | (Delivery.last_code.between(400, 499)),
    )
    bounced = select(BounceEventRow.delivery_id).where(
        BounceEventRow.delivery_id.is_not(None), BounceEventRow.kind.in_(COUNTED_KINDS)
    )
    good = select(Delivery.sent_at).where(
        Delivery.subscriber_id == subscriber_id,
        Delivery.state == "sent",
        Delivery.sent_at >= since,
        Delivery.id.not_in(bounced),
    )
    return SoftHistory(
        soft_at=tuple(sorted([*session.scalars(reported), *session.scalars(failed)])),
        good_at=tuple(sorted(t for t in session.scalars(good) if t is not None)),
    )


def delivery_flags(
    session: Session, delivery_ids: Iterable[int]
) -> dict[int, tuple[str | None, bool]]:
    """Per delivery: the worst bounce reported for it (hard, soft or None), and a complaint."""
    ids = list(delivery_ids)
    flags: dict[int, tuple[str | None, bool]] = {}
    for start in range(0, len(ids), 500):
        query = select(BounceEventRow.delivery_id, BounceEventRow.kind).where(
            BounceEventRow.delivery_id.in_(ids[start : start + 500]),
            BounceEventRow.kind.in_(("hard", "soft", "complaint")),
        )
        for delivery_id, kind in session.execute(query):
            if delivery_id is None:
                continue
            bounce, complaint = flags.get(delivery_id, (None, False))
            if kind == "complaint":
                complaint = True
            elif bounce != "hard":
                bounce = kind
            flags[delivery_id] = (bounce, complaint)
    return flags


def daily_counts(session: Session, *, since: dt.datetime) -> dict[dt.date, dict[str, int]]:
    """Per UTC day since ``since``: digests sent, and hard, soft and complaint events."""
    days: dict[dt.date, dict[str, int]] = {}

    def day(moment: dt.datetime) -> dict[str, int]:
        key = moment.astimezone(dt.UTC).date()
        return days.setdefault(key, {"sent": 0, "hard": 0, "soft": 0, "complaint": 0})

    for (sent_at,) in session.execute(
        select(Delivery.sent_at).where(Delivery.state == "sent", Delivery.sent_at >= since)
    ):
        if sent_at is not None:
            day(sent_at)["sent"] += 1
    events = select(BounceEventRow.created_at, BounceEventRow.kind).where(
        BounceEventRow.created_at >= since,
        BounceEventRow.kind.in_(("hard", "soft", "complaint")),
        BounceEventRow.subscriber_id.is_not(None),
    )
    for created_at, kind in session.execute(events):
        day(created_at)[kind] += 1
    return dict(sorted(days.items()))


def complaints_and_sent(session: Session, *, since: dt.datetime) -> tuple[int, int]:
    """Complaints matched to a subscriber, and digests sent, since ``since``."""
    complaints = session.scalar(
        select(func.count()).where(
            BounceEventRow.kind == "complaint",
            BounceEventRow.subscriber_id.is_not(None),
            BounceEventRow.created_at >= since,
        )
    )
    sent = session.scalar(
        select(func.count()).where(Delivery.state == "sent", Delivery.sent_at >= since)
    )
    return int(complaints or 0), int(sent or 0)


def forget_subscriber(session: Session, subscriber_id: int) -> None:
    """Delete the reports that name the subscriber (their bytes hold the address)."""
    reports = select(BounceEventRow.report_id).where(BounceEventRow.subscriber_id == subscriber_id)
    session.execute(delete(BounceReport).where(BounceReport.id.in_(reports)))
