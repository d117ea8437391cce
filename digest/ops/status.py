"""`digest status`: what an operator checks first, gathered in one place.

Last runs, what is due now and next (subscriber counts per send time), failing sources and
deliveries that need a look (stuck in `sending`, ambiguous, deferred). Subscribers appear by id:
the status is safe to paste into a ticket.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from digest.deliver.policy import BouncePolicy
from digest.ops import due_times
from digest.ops.bounce_rates import BounceRates, bounce_rates, rate_lines
from digest.store import deliveries, runs, sources, subscribers
from digest.store.db import Database

STUCK_SENDING = dt.timedelta(minutes=15)
ADDRESS = re.compile(r"[^\s<>/\\'\"]+@[^\s<>/\\'\"]+")
NEXT_SHOWN = 5


@dataclass(frozen=True)
class StatusReport:
    now: dt.datetime
    runs: list[dict[str, Any]]
    due_now: int
    paused: int
    next_sends: list[tuple[dt.datetime, int]]
    failing_sources: list[dict[str, Any]]
    stuck: list[dict[str, Any]]
    outbox: dict[str, int] = field(default_factory=dict)
    bounces: BounceRates | None = None

    def as_json(self) -> dict[str, Any]:
        rates = self.bounces
        return {
            "bounces": [d.as_json() for d in rates.days] if rates else [],
            "sending_halted": rates.halted if rates else None,
            "now": self.now.isoformat(),
            "runs": self.runs,
            "due_now": self.due_now,
            "paused": self.paused,
            "next_sends": [{"at": at.isoformat(), "subscribers": n} for at, n in self.next_sends],
            "failing_sources": self.failing_sources,
            "stuck_deliveries": self.stuck,
            "outbox": self.outbox,
        }


def status_report(
    db: Database, *, now: dt.datetime, policy: BouncePolicy | None = None
) -> StatusReport:
    """What `digest status` shows; with ``policy``, the bounce and complaint rates too."""
    with db.session() as session:
        recent = [_run_json(row) for row in runs.recent_runs(session)]
        due_now, paused, upcoming = _schedule_counts(session, now)
        failing = [
            data
            for data in (sources.source_json(row, now) for row in sources.list_sources(session))
            if data["failing"] or data["consecutive_failures"]
        ]
        stuck = [
            _stuck_json(row)
            for row in runs.stuck_deliveries(session, now=now, sending_after=STUCK_SENDING)
        ]
        outbox = runs.deliveries_by_state(session)
    rates = bounce_rates(db, policy, now=now) if policy is not None else None
    return StatusReport(now, recent, due_now, paused, upcoming, failing, stuck, outbox, rates)


def _schedule_counts(
    session: Any, now: dt.datetime
) -> tuple[int, int, list[tuple[dt.datetime, int]]]:
    """(due now without a delivery row, paused, [(next send time, subscribers)...])."""
    due_now = paused = 0
    upcoming: collections.Counter[dt.datetime] = collections.Counter()
    have: dict[dt.date, set[int]] = {}
    for subscriber, paused_until in subscribers.confirmed_with_pause(session):
        local_day = due_times.local_now(subscriber, now).date()
        if paused_until is not None and local_day <= paused_until:
            paused += 1
            continue
        date = due_times.due_digest_date(subscriber, now, paused_until)
        if date is not None:
            if date not in have:
                have[date] = deliveries.dates_with_delivery(session, date)
            due_now += subscriber.id not in have[date]
        upcoming[due_times.next_send_time(subscriber, now)] += 1
    return due_now, paused, sorted(upcoming.items())[:NEXT_SHOWN]


def _run_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "summary": row.summary or {},
    }


def _stuck_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "subscriber_id": row.subscriber_id,
        "date": row.digest_date.isoformat(),
        "state": row.state,
        "attempts": row.attempts,
        "last_code": row.last_code,
        "last_message": ADDRESS.sub("<address>", row.last_message or "") or None,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    }


def status_lines(report: StatusReport) -> list[str]:
    """The plain-text `digest status`."""
    lines = [f"status at {report.now.isoformat()}", "", "last runs:"]
    lines += [
        f"  {r['started_at']}  {r['kind']:7} {r['status']:8} "
        + " ".join(f"{k}={v}" for k, v in sorted(r["summary"].items()))
        for r in report.runs
    ] or ["  none yet"]
    lines += [
        "",
        f"due now, not yet recorded: {report.due_now} subscribers (paused: {report.paused})",
    ]
    lines += [f"  next at {at.isoformat()}: {n} subscribers" for at, n in report.next_sends]
    lines += ["", "failing sources:"]
    lines += [
        f"  {s['name']}  failures={s['consecutive_failures']}  {s['last_error'] or ''}"
        for s in report.failing_sources
    ] or ["  none"]
    outbox = ", ".join(f"{state} {n}" for state, n in sorted(report.outbox.items())) or "empty"
    lines += ["", f"outbox: {outbox}", "deliveries needing a look:"]
    lines += [
        f"  #{d['id']} subscriber {d['subscriber_id']} {d['date']} {d['state']} "
        f"attempts={d['attempts']} code={d['last_code'] or '-'} {d['last_message'] or ''}"
        for d in report.stuck
    ] or ["  none"]
    if report.bounces is not None:
        lines += ["", *rate_lines(report.bounces)]
    return lines
