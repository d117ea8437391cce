"""What one send-due tick costs, beside a baseline measured in the same run (SQLite).

- idle_tick_ms (baseline): a tick when nobody is due (local time before the send hour);
- settled_tick_ms: a tick after everyone got today's digest (all skipped by the date check);
- quiet_day_tick_ms: a tick on a day when nothing new matches anyone (e.g. a weekend): every
  due subscriber is ranked again on each tick, since no row records "nothing matched";
- quiet_vs_idle: the ratio that says whether that re-ranking matters at this size.

Usage: python bench/due_tick.py [--subscribers 500] [--ticks 5]. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest import pipeline  # noqa: E402
from digest.config import Settings  # noqa: E402
from digest.models import Topic  # noqa: E402
from digest.resources import samples_dir  # noqa: E402
from digest.service import Service  # noqa: E402
from digest.store import subscribers  # noqa: E402
from digest.store.db import Database  # noqa: E402

UTC = dt.UTC
TOPICS = ("LLM agents", "diffusion models", "reinforcement learning", "retrieval", "robotics")


def build(folder: Path, count: int) -> Service:
    url = f"sqlite:///{folder / 'bench.db'}"
    Database(url).upgrade()
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, outbox_dir=folder / "outbox", secret_key="bench"
    )
    service = Service.open(settings)
    now = dt.datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=now)
    with service.db.session() as session:
        for number in range(count):
            subscribers.upsert_subscriber(
                session,
                f"r{number}@example.org",
                now=now,
                state="confirmed",
                profile_changes={"topics": (Topic(TOPICS[number % len(TOPICS)]),)},
                schedule={"timezone": "Europe/Berlin", "send_hour": 7},
            )
    return service


def tick_ms(service: Service, start: dt.datetime, ticks: int) -> float:
    times = []
    for n in range(ticks):
        began = time.perf_counter()
        pipeline.run_due(service, now=start + dt.timedelta(minutes=5 * n))
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        service = build(Path(folder), args.subscribers)
        idle = tick_ms(service, dt.datetime(2026, 4, 30, 3, 0, tzinfo=UTC), args.ticks)
        pipeline.run_due(service, now=dt.datetime(2026, 4, 30, 5, 0, tzinfo=UTC))  # Thursday
        settled = tick_ms(service, dt.datetime(2026, 4, 30, 6, 0, tzinfo=UTC), args.ticks)
        pipeline.run_due(service, now=dt.datetime(2026, 5, 1, 5, 0, tzinfo=UTC))  # Friday
        # Saturday: the window still holds the week's papers, but each was sent or ranked out.
        quiet = tick_ms(service, dt.datetime(2026, 5, 2, 6, 0, tzinfo=UTC), args.ticks)
        service.close()
    print(
        json.dumps(
            {
                "subscribers": args.subscribers,
                "idle_tick_ms": idle,
                "settled_tick_ms": settled,
                "quiet_day_tick_ms": quiet,
                "quiet_vs_idle": round(quiet / idle, 2) if idle else None,
            }
        )
    )


if __name__ == "__main__":
    main()
