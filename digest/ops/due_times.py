"""When a subscriber's digest is due: pure functions of the subscriber and `now`.

A digest is due once the subscriber's local clock has reached their send hour on a sending day,
and stays due until it is recorded for that local date. Comparing hours (not waiting for an exact
tick) makes daylight-saving days safe: a skipped hour still passes the send hour, a repeated hour
finds the date already recorded, and after downtime the digest goes out once, late.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.models import Subscriber


def local_now(subscriber: Subscriber, now: dt.datetime) -> dt.datetime:
    try:
        zone = ZoneInfo(subscriber.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone)


def due_digest_date(
    subscriber: Subscriber, now: dt.datetime, paused_until: dt.date | None = None
) -> dt.date | None:
    """The local date whose digest is due for this subscriber at `now`, or None."""
    local = local_now(subscriber, now)
    if paused_until is not None and local.date() <= paused_until:
        return None
    if subscriber.frequency == "weekly" and local.weekday() != subscriber.weekday:
        return None
    if local.hour < subscriber.send_hour:
        return None
    return local.date()


def window_days_for(subscriber: Subscriber, configured: int) -> int:
    """How many days of papers a digest looks back: a weekly digest covers at least a week."""
    return max(configured, 7) if subscriber.frequency == "weekly" else configured


def next_send_time(subscriber: Subscriber, now: dt.datetime) -> dt.datetime:
    """The next moment (UTC) a digest becomes due, for `digest status` and the web page."""
    local = local_now(subscriber, now)
    for offset in range(0, 8):
        day = local.date() + dt.timedelta(days=offset)
        if subscriber.frequency == "weekly" and day.weekday() != subscriber.weekday:
            continue
        at = dt.datetime.combine(day, dt.time(subscriber.send_hour), tzinfo=local.tzinfo)
        at = at.astimezone(dt.UTC).astimezone(local.tzinfo)  # normalise a skipped local hour
        if at > local:
            return at.astimezone(dt.UTC)
    return (local + dt.timedelta(days=1)).astimezone(dt.UTC)
