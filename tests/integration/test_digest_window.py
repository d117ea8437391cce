"""The digest window on SQLite and PostgreSQL: a digest for date D holds the papers announced
on the UTC days D-window .. D, both ends whole days, and nothing from D+1 (README: D-4 to D)."""

from __future__ import annotations

import datetime as dt

from digest.models import FeedItem
from digest.pipeline.digests import ranking_context
from digest.service import Service
from digest.store import papers

D = dt.date(2026, 4, 29)
NOW = dt.datetime(2026, 4, 30, 6, 0, tzinfo=dt.UTC)


def at(days: int, time: str = "12:00:00", offset: str = "+00:00") -> dt.datetime:
    """An instant on day D+days (negative: before D), written with the given UTC offset."""
    return dt.datetime.fromisoformat(f"{D + dt.timedelta(days=days)}T{time}{offset}")


ANNOUNCED = {  # title: when it was announced
    "D+1 at midnight": at(1, "00:00:00"),
    "D last second": at(0, "23:59:59"),
    "D noon": at(0),
    "D-1": at(-1),
    "D-2": at(-2),
    "D-3": at(-3),
    "D-4 at midnight": at(-4, "00:00:00"),
    "D-5 last second": at(-5, "23:59:59"),
    "D-4 01:00 in Berlin, D-5 in UTC": at(-4, "01:00:00", "+02:00"),
    "D-6": at(-6),
    "D-7": at(-7),
}
IN_A_4_DAY_WINDOW = {"D last second", "D noon", "D-1", "D-2", "D-3", "D-4 at midnight"}


def store_announcements(service: Service) -> None:
    items = [
        FeedItem(title=title, arxiv_id=f"2604.{number:05d}", version=1, published=when)
        for number, (title, when) in enumerate(ANNOUNCED.items())
    ]
    with service.db.session() as session:
        papers.merge_feed_items(session, "window", items, now=NOW)


def test_the_window_holds_the_days_d_minus_window_to_d_inclusive(service: Service) -> None:
    store_announcements(service)
    with service.db.session() as session:
        titles = {p.title for p in papers.papers_in_window(session, D, 4)}
    assert titles == IN_A_4_DAY_WINDOW


def test_a_one_day_window_holds_d_and_the_day_before(service: Service) -> None:
    store_announcements(service)
    with service.db.session() as session:
        titles = {p.title for p in papers.papers_in_window(session, D, 1)}
    assert titles == {"D last second", "D noon", "D-1"}


def test_a_digest_ranks_the_configured_window_or_the_one_it_is_given(service: Service) -> None:
    store_announcements(service)
    assert service.settings.window_days == 4
    configured = ranking_context(service, D)
    assert {p.title for p in configured.index.papers} == IN_A_4_DAY_WINDOW
    weekly = ranking_context(service, D, window_days=7)
    assert {p.title for p in weekly.index.papers} == set(ANNOUNCED) - {"D+1 at midnight"}
