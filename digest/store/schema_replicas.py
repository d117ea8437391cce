"""The tables replicas coordinate through (rate-limit counts, planning shards), on the same
declarative Base as :mod:`digest.store.schema`, which imports this module."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from digest.store.schema import Base, UtcDateTime


class RateLimitHit(Base):
    """One counted request in a rate-limit bucket, until it leaves the bucket's window.

    Kept in the database so every replica counts against the same allowance; the bucket is a
    keyed hash, never an address.
    """

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_expires", "bucket", "expires_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class PlanShard(Base):
    """One range of subscriber ids that one replica ranks for one planning run.

    ``plan_key`` names the run ("daily 2026-12-04", or a due tick's date, window and hour), so
    every replica of that run shares the same shards. A replica claims a shard by locking its
    row (``FOR UPDATE SKIP LOCKED``) for as long as it plans it; ``done_at`` is set in the
    same transaction, so a replica that dies mid-shard leaves it open for another.
    """

    __tablename__ = "plan_shards"
    __table_args__ = (UniqueConstraint("plan_key", "first_id", name="uq_plan_shards_key_first"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_key: Mapped[str] = mapped_column(String(100))
    first_id: Mapped[int] = mapped_column(BigInteger)  # the first subscriber id in the shard
    end_id: Mapped[int | None] = mapped_column(BigInteger)  # first id after it; None: no end
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    done_by: Mapped[str | None] = mapped_column(String(100))  # host:pid of the replica
