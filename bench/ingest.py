"""Ingestion cost against the cost of parsing alone (`feedparser.parse` on the same bytes).

Parsing is the unavoidable cost; everything else (identify, sanitise, upsert, health) should
be nearly free. Builds a 2,000-entry arXiv-style listing from the fixture items (ids varied),
then measures, as ratios to `feedparser.parse` of the same bytes (higher is better):

- first_sqlite / first_postgres: a first ingest into an empty database (target >= 0.75);
- same_bytes: the same bytes fetched again, recognised by content hash (target >= 20);
- known_items: a changed feed whose items are all stored already (target >= 0.85);
- peak_mb: peak RSS of one `digest ingest` of 20 such feeds, in a subprocess (target < 300).

Usage: python bench/ingest.py [--entries 2000] [--feeds 20]. PostgreSQL is read from
DIGEST_TEST_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test); without it
first_postgres is null. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
from peak_memory import run_measured

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "arxiv-rss"
SAMPLES = ROOT / "digest" / "samples"
POSTGRES_ADMIN = os.environ.get(
    "DIGEST_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = dt.datetime(2026, 4, 27, 6, 0, tzinfo=dt.UTC)
_ITEM = re.compile(r"<item>.*?</item>", re.S)
_ID = re.compile(r"2604\.\d{5}")


def template_items() -> list[str]:
    paths = sorted(FIXTURES.glob("cs*.xml")) + sorted(SAMPLES.glob("arxiv-rss-*.xml"))
    items: list[str] = []
    for path in paths:
        items.extend(_ITEM.findall(path.read_text(encoding="utf-8")))
    return items


def build_feed(entries: int, *, month: str = "2605", edition: str = "") -> bytes:
    """An arXiv-style RSS listing of ``entries`` items, each with its own id (and title)."""
    templates = template_items()
    head = (
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs</link>"
        f"<description>bench{edition}</description>"
    )
    body = []
    for number in range(entries):
        item = _ID.sub(f"{month}.{number:05d}", templates[number % len(templates)])
        body.append(item.replace("<title>", f"<title>[{number}] ", 1))
    return (head + "\n".join(body) + "</channel></rss>").encode()


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


@contextmanager
def postgres_database() -> Iterator[str | None]:
    try:
        import psycopg

        admin = POSTGRES_ADMIN.replace("+psycopg", "")
        name = f"digest_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL figure
        print(f"no PostgreSQL ({type(exc).__name__}): first_postgres is null", file=sys.stderr)
        yield None
        return
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_service(database_url: str, folder: Path):  # type: ignore[no-untyped-def]
    from digest.config import Settings
    from digest.service import Service
    from digest.store.db import Database

    Database(database_url).upgrade()
    settings = Settings(database_url=database_url, outbox_dir=folder / "outbox", secret_key="bench")  # type: ignore[call-arg]
    return Service.open(settings)


def first_ingest(database_url: str, data: bytes, folder: Path) -> float:
    from digest.pipeline.ingest_job import ingest_document

    service = open_service(database_url, folder)
    try:
        started = time.perf_counter()
        report = ingest_document(service, "bench", data, url=None, now=NOW)
        elapsed = time.perf_counter() - started
        assert report.new > 0 and report.error is None, report
        return elapsed
    finally:
        service.close()


def repeat_ingests(data: bytes, changed: bytes, folder: Path) -> tuple[float, float]:
    """(same bytes again, changed feed of known items) on SQLite, through the source path."""
    from digest.ingest.fetch import HostPacer
    from digest.pipeline.ingest_job import ingest_document, ingest_sources
    from digest.store import sources

    service = open_service(f"sqlite:///{folder / 'repeat.db'}", folder)
    feed = folder / "repeat.xml"
    feed.write_bytes(data)
    with service.db.session() as session:
        sources.add_source(session, feed.as_uri(), name="repeat", kind="arxiv-rss", now=NOW)
    try:
        ingest_sources(service, ["repeat"], now=NOW, pacer=HostPacer(0))

        def again() -> None:
            (report,) = ingest_sources(service, ["repeat"], now=NOW, pacer=HostPacer(0))
            assert report.note == "unchanged (same bytes)", report

        same = best_of(5, again)
        later = NOW + dt.timedelta(hours=1)

        def known() -> None:
            report = ingest_document(service, "repeat", changed, url=None, now=later)
            assert report.new == 0 and report.error is None, report

        return same, best_of(3, known)
    finally:
        service.close()


def peak_memory_mb(entries: int, feeds: int, folder: Path) -> float:
    """Peak RSS of one `digest ingest` of ``feeds`` distinct feeds, in a fresh interpreter."""
    env = dict(
        os.environ,
        DIGEST_DATABASE_URL=f"sqlite:///{folder / 'peak.db'}",
        DIGEST_SECRET_KEY="bench",
        DIGEST_OUTBOX_DIR=str(folder / "outbox"),
    )
    run = [sys.executable, "-m", "digest"]
    subprocess.run([*run, "db", "upgrade"], env=env, check=True, capture_output=True)
    for number in range(feeds):
        path = folder / f"feed-{number:02d}.xml"
        path.write_bytes(build_feed(entries, month=f"{1501 + number:04d}"))
        subprocess.run(
            [*run, "sources", "add", str(path), "--name", f"feed-{number:02d}"],
            env=env,
            check=True,
            capture_output=True,
        )
    done = run_measured(["ingest", "--host-delay", "0"], env=env)
    assert done.returncode == 0, done.stderr
    return done.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=20)
    args = parser.parse_args()
    data = build_feed(args.entries)
    changed = data.replace(b"<description>bench</description>", b"<description>v2</description>")

    def baseline() -> float:
        started = time.perf_counter()
        feedparser.parse(data)
        return time.perf_counter() - started

    def ratio(action: Callable[[], float], runs: int = 3) -> float:
        """min(parse) / min(action), each parse measured just before its action, so a busy
        machine (other jobs on these 2 cores) skews both sides alike."""
        pairs = [(baseline(), action()) for _ in range(runs)]
        return min(p for p, _ in pairs) / min(a for _, a in pairs)

    figures: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        counter = iter(range(100))
        figures["first_sqlite"] = round(
            ratio(
                lambda: first_ingest(f"sqlite:///{folder / f'{next(counter)}.db'}", data, folder)
            ),
            3,
        )

        def first_postgres() -> float:
            with postgres_database() as postgres_url:
                if postgres_url is None:
                    return float("inf")
                return first_ingest(postgres_url, data, folder)

        pg = ratio(first_postgres)
        figures["first_postgres"] = round(pg, 3) if pg > 0 else None
        same, known = repeat_ingests(data, changed, folder)
        parse = min(baseline() for _ in range(3))
        print(f"feedparser.parse: {parse:.3f} s for {args.entries} entries", file=sys.stderr)
        figures["same_bytes"] = round(parse / same, 1)
        figures["known_items"] = round(parse / known, 3)
        figures["peak_mb"] = round(peak_memory_mb(args.entries, args.feeds, folder), 1)
    for name, value in figures.items():
        print(f"{name}: {value}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
