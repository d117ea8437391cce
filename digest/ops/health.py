"""Health: whether this process can do its work, and how long since each job last succeeded.

One schema rule (the store's :meth:`~digest.store.db.Database.require_current_schema`, which
every command also obeys) serves both /healthz, which a load balancer polls, and the
/healthz/detail an operator reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any

from digest.errors import SchemaOutOfDate
from digest.store import runs
from digest.store.db import Database


@dataclass(frozen=True)
class Health:
    """What /healthz reports. `ok` needs the database and a current schema; ages inform."""

    ok: bool
    database: bool
    schema: str  # current | behind | unknown
    last_ingest_age_seconds: float | None = None
    last_due_tick_age_seconds: float | None = None
    last_send_age_seconds: float | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The /healthz/detail body: every age (null when never), an error only if there is one."""
        data = asdict(self)
        data["status"] = "ok" if self.ok else "error"
        return {k: v for k, v in data.items() if v is not None or k.endswith("seconds")}

    def brief_json(self) -> dict[str, Any]:
        """The /healthz body: status, database and schema only."""
        status = "ok" if self.ok else "error"
        return {"status": status, "database": self.database, "schema": self.schema}


def schema_health(db: Database) -> Health:
    """Whether the database answers and its schema is the one the code needs (no ages)."""
    try:
        db.require_current_schema()
    except SchemaOutOfDate:
        return Health(False, True, "behind")
    except Exception as exc:  # unreachable or broken: a health check reports, never raises
        return Health(False, False, "unknown", error=type(exc).__name__)
    return Health(True, True, "current")


def health_report(db: Database, *, now: dt.datetime) -> Health:
    """:func:`schema_health` plus the seconds since the last ingest, due tick and sent email."""
    health = schema_health(db)
    if not health.ok:
        return health

    def age(moment: dt.datetime | None) -> float | None:
        return None if moment is None else round((now - moment).total_seconds(), 1)

    with db.session() as session:
        ingest = max(
            (
                m
                for m in (runs.last_success(session, "ingest"), runs.last_source_success(session))
                if m is not None
            ),
            default=None,
        )
        due = max(  # a due tick, or a whole `digest run` from cron
            (m for m in (runs.last_success(session, k) for k in ("due", "daily")) if m),
            default=None,
        )
        sent = runs.last_sent_at(session)
    return replace(
        health,
        last_ingest_age_seconds=age(ingest),
        last_due_tick_age_seconds=age(due),
        last_send_age_seconds=age(sent),
    )
