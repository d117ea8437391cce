"""`run --due`: exactly the digests due at a moment, once per subscriber's local date."""

from __future__ import annotations

import datetime as dt

from digest import pipeline
from digest.models import Topic
from digest.resources import samples_dir
from digest.service import Service
from digest.store import deliveries, subscribers

INGESTED = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)


def setup_readers(service: Service) -> None:
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=INGESTED)
    with service.db.session() as session:
        for address, zone in (
            ("berlin@example.org", "Europe/Berlin"),
            ("auckland@example.org", "Pacific/Auckland"),
        ):
            subscribers.upsert_subscriber(
                session,
                address,
                now=INGESTED,
                state="confirmed",
                profile_changes={"topics": (Topic("LLM agents"),)},
                schedule={"timezone": zone, "send_hour": 7},
            )


def sent(service: Service) -> list[tuple[str, str]]:
    with service.db.session() as session:
        return sorted(
            (email, row.digest_date.isoformat())
            for row, email in deliveries.list_deliveries(session, state="sent")
        )


def test_due_sends_only_whom_the_local_clock_says_and_only_once(service: Service) -> None:
    setup_readers(service)
    # 19:30 UTC on 29 April: 07:30 on 30 April in Auckland, 21:30 on 29 April in Berlin.
    evening = dt.datetime(2026, 4, 29, 19, 30, tzinfo=dt.UTC)
    pipeline.run_due(service, now=evening)
    first = [("auckland@example.org", "2026-04-30"), ("berlin@example.org", "2026-04-29")]
    assert sent(service) == first
    pipeline.run_due(service, now=evening + dt.timedelta(minutes=5))
    assert sent(service) == first
    # 04:50 UTC on 30 April is 06:50 in Berlin (CEST): not yet.
    pipeline.run_due(service, now=dt.datetime(2026, 4, 30, 4, 50, tzinfo=dt.UTC))
    assert sent(service) == first
    # 05:10 UTC is 07:10 in Berlin: the 30 April digest.
    pipeline.run_due(service, now=dt.datetime(2026, 4, 30, 5, 10, tzinfo=dt.UTC))
    assert sent(service) == [*first, ("berlin@example.org", "2026-04-30")]


def test_catching_up_after_downtime_sends_one_digest_not_one_per_missed_tick(
    service: Service,
) -> None:
    setup_readers(service)
    late = dt.datetime(2026, 4, 30, 11, 0, tzinfo=dt.UTC)  # hours after 07:00 in Berlin
    for minutes in range(0, 30, 5):
        pipeline.run_due(service, now=late + dt.timedelta(minutes=minutes))
    assert [email for email, _ in sent(service)].count("berlin@example.org") == 1
