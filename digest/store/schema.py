"""Tables, declared once with SQLAlchemy 2.x typed mappings. Alembic migrations mirror them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, on SQLite (which forgets tzinfo) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class KeyValue(Base):
    """Small facts the service keeps about itself (e.g. the generated secret key)."""

    __tablename__ = "key_value"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), default="auto")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    items_last_seen: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PaperRow(Base):
    __tablename__ = "papers"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    arxiv_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    doi: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    url: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    code_url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # When the paper became readable news: announcement or first sighting. The digest window
    # reads this, never when our process happened to store the row.
    announced_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    announce_type: Mapped[str | None] = mapped_column(String(20))
    has_full_record: Mapped[bool] = mapped_column(Boolean, default=True)
    # Completion from the arXiv API (authors, categories of a paper first seen as a mention):
    # requests that failed so far, and when the API answered for it; then it is not asked again.
    metadata_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    metadata_checked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # A later version whose title or abstract changed: when it was announced and what changed
    # ("abstract revised"); a reader who got an earlier version is told once (Digest.updates).
    revised_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revision: Mapped[str | None] = mapped_column(String(80))


class PaperTldr(Base):
    """A paper's one-line TL;DR from the configured language model, asked once per paper."""

    __tablename__ = "paper_tldrs"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PaperEmbedding(Base):
    """A paper's unit sentence embedding (float32 bytes) under one embedding model."""

    __tablename__ = "paper_embeddings"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Sighting(Base):
    """One source listing or mentioning one paper: the dedupe trail and the trending signal."""

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("paper_id", "source_name", name="uq_sighting"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    source_name: Mapped[str] = mapped_column(String(200))
    is_mention: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SubscriberRow(Base):
    """A subscriber. Ids are never reused (AUTOINCREMENT on SQLite), so a link signed for a
    deleted subscriber cannot open the account of a later one."""

    __tablename__ = "subscribers"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="unconfirmed")
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    send_hour: Mapped[int] = mapped_column(Integer, default=7)
    frequency: Mapped[str] = mapped_column(String(10), default="daily")
    weekday: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    consent_ip: Mapped[str | None] = mapped_column(String(64))
    # How a subscriber agreed when it was not through a confirm link: "import" (--confirmed).
    consent_source: Mapped[str | None] = mapped_column(String(40))
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    hard_bounces: Mapped[int] = mapped_column(Integer, default=0)
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    # In every feed link; "new feed link" on the manage page bumps it, and old links stop.
    feed_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Suppression(Base):
    """Addresses never to mail, kept as a hash so a deleted subscriber leaves no address behind.

    ``scheme`` is "hmac" (keyed with the service's secret) for every new row; "sha256" rows
    are from before, when the hash was bare, and are still honoured.
    """

    __tablename__ = "suppressions"
    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(10), default="hmac", server_default="sha256")
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Delivery(Base):
    """The outbox: one row per (subscriber, digest date), written before anything is sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "digest_date", name="uq_delivery_subscriber_date"),
        Index("ix_deliveries_state_next", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    digest_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20), default="digest")  # digest | nothing
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_message: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    overflow: Mapped[list[Any]] = mapped_column(JSON, default=list)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [[paper id, version the reader had, version now], ...]: the "Updated" block's papers.
    updates: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id"), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    data_started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Edition(Base):
    """One digest as planned for a date: its picks, shared by every delivery that got it.

    Subscribers with the same profile and history get the same picks, so a run records one
    edition for each distinct digest rather than ten picks per subscriber.
    """

    __tablename__ = "editions"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class EditionItem(Base):
    """A paper chosen for an edition, with the score and reasons it had then."""

    __tablename__ = "edition_items"
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    relevance: Mapped[float] = mapped_column(Float, default=0.0)
    trending: Mapped[float] = mapped_column(Float, default=0.0)
    topic: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))  # more | less
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Run(Base):
    """One job run (ingest, daily, due tick), for `digest status` and /healthz."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


from digest.store.schema_bounces import BounceEventRow, BounceReport  # noqa: E402
from digest.store.schema_replicas import PlanShard, RateLimitHit  # noqa: E402

__all__ = [
    "Base",
    "BounceEventRow",
    "BounceReport",
    "Delivery",
    "Edition",
    "EditionItem",
    "Feedback",
    "KeyValue",
    "PaperRow",
    "PaperTldr",
    "PlanShard",
    "RateLimitHit",
    "Run",
    "Sighting",
    "Source",
    "SubscriberRow",
    "Suppression",
]
