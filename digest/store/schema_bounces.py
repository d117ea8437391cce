"""The bounce tables, on the same declarative Base as :mod:`digest.store.schema` (which
imports this module, so every table is known wherever the schema is)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from digest.store.schema import Base, UtcDateTime


class BounceReport(Base):
    """A report that came back after sending (a DSN, a complaint, a provider's webhook call),
    kept byte for byte for audit. ``report_key`` makes the same report count once."""

    __tablename__ = "bounce_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # ingest | imap | ses | postmark | mailgun
    message_id: Mapped[str | None] = mapped_column(String(255))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class BounceEventRow(Base):
    """One thing a report says about one recipient, and what it did (``outcome``).

    ``kind`` is hard, soft, complaint, auto_reply or unknown. Only a verified VERP id (or a
    signed webhook) names a delivery and subscriber; other events keep them NULL.
    """

    __tablename__ = "bounce_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("bounce_reports.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(320))
    verp_id: Mapped[str | None] = mapped_column(String(40))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str | None] = mapped_column(String(16))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    detector: Mapped[str] = mapped_column(String(20), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
