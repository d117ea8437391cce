"""Bounce and complaint rates per day, for `digest status` and /metrics.

A day's rate is its events (hard, soft, complaint; only those matched to a subscriber)
over the digests sent that day (UTC). Mailbox providers reject senders whose complaint rate
nears 0.3 %, so the complaint line is the one to watch; the send loop stops at
DIGEST_BOUNCE_COMPLAINT_RATE (see deliver.bounces.complaint_halt).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from digest.deliver.bounces import complaint_halt
from digest.deliver.policy import BouncePolicy
from digest.store import bounces
from digest.store.db import Database

DAYS_SHOWN = 7
KINDS = ("hard", "soft", "complaint")


@dataclass(frozen=True)
class DayRates:
    day: dt.date
    sent: int
    counts: dict[str, int]

    def rate(self, kind: str) -> float | None:
        return self.counts.get(kind, 0) / self.sent if self.sent else None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"day": self.day.isoformat(), "sent": self.sent}
        for kind in KINDS:
            data[kind] = self.counts.get(kind, 0)
            rate = self.rate(kind)
            data[f"{kind}_rate"] = round(rate, 6) if rate is not None else None
        return data


@dataclass(frozen=True)
class BounceRates:
    days: list[DayRates]
    halted: str | None  # why a run would send nothing now


def bounce_rates(db: Database, policy: BouncePolicy, *, now: dt.datetime) -> BounceRates:
    first = now.astimezone(dt.UTC).date() - dt.timedelta(days=DAYS_SHOWN - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    with db.session() as session:
        counts = bounces.daily_counts(session, since=since)
        halted = complaint_halt(session, policy, now=now)
    days = [
        DayRates(day, counts.get(day, {}).get("sent", 0), counts.get(day, {}))
        for day in (first + dt.timedelta(days=n) for n in range(DAYS_SHOWN))
    ]
    return BounceRates(days, halted)


def rate_lines(rates: BounceRates) -> list[str]:
    """The plain-text lines of `digest status`."""
    lines = ["bounces and complaints per day (UTC):"]
    for day in rates.days:
        parts = [f"sent {day.sent}"]
        for kind in KINDS:
            rate = day.rate(kind)
            shown = f" ({rate:.2%})" if rate is not None else ""
            parts.append(f"{kind} {day.counts.get(kind, 0)}{shown}")
        lines.append(f"  {day.day.isoformat()}  " + ", ".join(parts))
    if rates.halted:
        lines.append(rates.halted)
    return lines


class BounceCollector(Collector):
    """Per-day bounce and complaint counts and rates, read from the database at scrape time."""

    def __init__(self, db: Database, policy: BouncePolicy, now: Any) -> None:
        self.db, self.policy, self.now = db, policy, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rates = bounce_rates(self.db, self.policy, now=self.now())
        events = GaugeMetricFamily(
            "digest_bounce_events",
            "Bounce and complaint events by UTC day.",
            labels=["kind", "day"],
        )
        share = GaugeMetricFamily(
            "digest_bounce_rate",
            "Bounce and complaint events over digests sent, by UTC day.",
            labels=["kind", "day"],
        )
        for day in rates.days:
            for kind in KINDS:
                events.add_metric([kind, day.day.isoformat()], day.counts.get(kind, 0))
                rate = day.rate(kind)
                if rate is not None:
                    share.add_metric([kind, day.day.isoformat()], rate)
        yield events
        yield share
        halted = GaugeMetricFamily(
            "digest_sending_halted", "1 while the complaint rate stops every run from sending."
        )
        halted.add_metric([], 1.0 if rates.halted else 0.0)
        yield halted
