"""Reading many subscribers at once gives exactly what reading them one by one gives."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from digest.models import Topic
from digest.service import Service
from digest.store import subscribers
from digest.store.schema import SubscriberRow

NOW = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


def test_subscribers_by_ids_match_the_rows_one_by_one(service: Service) -> None:
    profiles = [
        {"topics": (Topic("reward models", 2.0), Topic("DPO")), "exclude": ("survey",)},
        {"topics": (Topic("reward models", 2.0), Topic("DPO")), "exclude": ("survey",)},
        {"authors": ("A. Author",), "categories": ("cs.LG",), "per_digest": 5},
        None,
    ]
    with service.db.session() as session:
        ids = []
        for number, changes in enumerate(profiles):
            row, _ = subscribers.upsert_subscriber(
                session,
                f"Reader{number}@Example.org",
                now=NOW,
                state="confirmed" if number % 2 else "unconfirmed",
                profile_changes=changes,
                schedule={"timezone": "Europe/Berlin", "send_hour": 6 + number},
            )
            session.flush()
            ids.append(row.id)
        session.execute(update(SubscriberRow).where(SubscriberRow.id == ids[-1]).values(profile={}))
    with service.db.session() as session:
        one_by_one = {i: subscribers.to_subscriber(session.get(SubscriberRow, i)) for i in ids}
        at_once = subscribers.subscribers_by_ids(session, [*ids, 10_000])  # an unknown id too
    assert at_once == one_by_one
    assert at_once[ids[0]].profile is at_once[ids[1]].profile  # one profile decoded once
