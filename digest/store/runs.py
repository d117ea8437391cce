"""Job runs (ingest, due tick): one row per run, for `digest status`, /healthz and /metrics.

A run row is written when the job starts and finished when it ends, so a run that crashed is
visible as `running` long after it began. Old rows are pruned as new ones start.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from digest.store.schema import Delivery, Run, Source

KEEP = dt.timedelta(days=30)


def start_run(session: Session, kind: str, *, now: dt.datetime) -> int:
    session.execute(delete(Run).where(Run.started_at < now - KEEP))
    row = Run(kind=kind, started_at=now, status="running", summary={})
    session.add(row)
    session.flush()
    return row.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    now: dt.datetime,
    status: str,
    summary: dict[str, Any],
) -> None:
    row = session.get(Run, run_id)
    if row is not None:
        row.finished_at, row.status, row.summary = now, status, summary


def recent_runs(session: Session, limit: int = 10) -> list[Run]:
    query = select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
    return list(session.scalars(query))


def last_success(session: Session, kind: str) -> dt.datetime | None:
    """When the newest successful run of this kind finished."""
    query = select(func.max(Run.finished_at)).where(Run.kind == kind, Run.status == "ok")
    return session.scalar(query)


def last_sent_at(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(Delivery.sent_at)))


def last_source_success(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(Source.last_success_at)))


def deliveries_by_state(session: Session) -> dict[str, int]:
    query = select(Delivery.state, func.count()).group_by(Delivery.state)
    return {state: int(count) for state, count in session.execute(query)}


def deferred_by_code(session: Session) -> dict[str, int]:
    """Deferred rows by their last SMTP reply code ('none' for connection failures)."""
    query = (
        select(Delivery.last_code, func.count())
        .where(Delivery.state == "deferred")
        .group_by(Delivery.last_code)
    )
    return {str(code) if code else "none": int(count) for code, count in session.execute(query)}


def stuck_deliveries(
    session: Session, *, now: dt.datetime, sending_after: dt.timedelta
) -> list[Delivery]:
    """Rows an operator should look at: ambiguous, deferred, or `sending` for too long."""
    query = (
        select(Delivery)
        .where(
            (Delivery.state.in_(("ambiguous", "deferred")))
            | ((Delivery.state == "sending") & (Delivery.claimed_at < now - sending_after))
        )
        .order_by(Delivery.digest_date, Delivery.id)
        .limit(200)
    )
    return list(session.scalars(query))
