"""When a digest is due, in the subscriber's own time zone, across DST and the date line."""

from __future__ import annotations

import datetime as dt

from digest.models import Subscriber
from digest.ops.due_times import due_digest_date, next_send_time, window_days_for

UTC = dt.UTC


def reader(
    tz: str = "Europe/Berlin", hour: int = 7, frequency: str = "daily", weekday: int = 0
) -> Subscriber:
    return Subscriber(
        id=1,
        email="a@example.org",
        state="confirmed",
        timezone=tz,
        send_hour=hour,
        frequency=frequency,
        weekday=weekday,
    )


def test_not_due_before_the_local_send_hour() -> None:
    # 05:59 UTC is 06:59 in Berlin in winter.
    assert due_digest_date(reader(), dt.datetime(2026, 1, 15, 5, 59, tzinfo=UTC)) is None


def test_due_from_the_local_send_hour_for_the_local_date() -> None:
    moment = dt.datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    assert due_digest_date(reader(), moment) == dt.date(2026, 1, 15)


def test_spring_forward_day_is_due_at_local_seven() -> None:
    # 29 March 2026: Berlin jumps from 02:00 to 03:00; 07:00 CEST is 05:00 UTC.
    assert due_digest_date(reader(), dt.datetime(2026, 3, 29, 4, 59, tzinfo=UTC)) is None
    assert due_digest_date(reader(), dt.datetime(2026, 3, 29, 5, 0, tzinfo=UTC)) == dt.date(
        2026, 3, 29
    )


def test_a_send_hour_inside_the_skipped_hour_is_still_due_that_day() -> None:
    two_am = reader(hour=2)
    assert due_digest_date(two_am, dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == dt.date(
        2026, 3, 29
    )


def test_fall_back_day_is_due_at_local_seven() -> None:
    # 25 October 2026: back to CET; 07:00 CET is 06:00 UTC.
    assert due_digest_date(reader(), dt.datetime(2026, 10, 25, 5, 59, tzinfo=UTC)) is None
    assert due_digest_date(reader(), dt.datetime(2026, 10, 25, 6, 0, tzinfo=UTC)) == dt.date(
        2026, 10, 25
    )


def test_auckland_is_a_day_ahead_across_the_date_line() -> None:
    auckland = reader("Pacific/Auckland")
    # 19:00 UTC on 10 June is 07:00 on 11 June in Auckland (NZST, UTC+12).
    assert due_digest_date(auckland, dt.datetime(2026, 6, 10, 19, 0, tzinfo=UTC)) == dt.date(
        2026, 6, 11
    )


def test_weekly_is_due_only_on_its_weekday() -> None:
    weekly = reader(frequency="weekly", weekday=0)  # Monday
    assert due_digest_date(weekly, dt.datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) == dt.date(
        2026, 11, 23
    )
    assert due_digest_date(weekly, dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC)) is None


def test_paused_until_a_date_is_not_due_until_after_it() -> None:
    moment = dt.datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert due_digest_date(reader(), moment, paused_until=dt.date(2026, 1, 15)) is None
    assert due_digest_date(reader(), moment, paused_until=dt.date(2026, 1, 14)) is not None


def test_next_send_time_on_spring_forward_day() -> None:
    after = next_send_time(reader(), dt.datetime(2026, 3, 28, 7, 0, tzinfo=UTC))
    assert after == dt.datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


def test_a_weekly_digest_looks_back_at_least_a_week_and_a_daily_one_as_configured() -> None:
    assert window_days_for(reader(frequency="weekly"), 4) == 7
    assert window_days_for(reader(frequency="weekly"), 10) == 10
    assert window_days_for(reader(), 4) == 4
