"""`digest subscribers import` throughput: rows per second for a CSV of N rows.

For SQLite and PostgreSQL (from DIGEST_TEST_POSTGRES; null without one): the same file
imported --confirmed into an empty database (import_confirmed_rows_s), then again (the rerun,
which adds nothing: rerun_rows_s), and a second file without --confirmed, whose confirm emails
go to the outbox folder (import_unconfirmed_rows_s). The baseline is the file's parse and
checks alone (parse_rows_s), measured in the same run.

Usage: python bench/imports.py [--rows 10000]. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deliver import TOPICS, postgres_database  # noqa: E402

from digest.config import Settings  # noqa: E402
from digest.pipeline.import_job import import_subscribers  # noqa: E402
from digest.pipeline.import_rows import read_rows  # noqa: E402
from digest.service import Service  # noqa: E402
from digest.store.db import Database  # noqa: E402

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")


def csv_file(rows: int, prefix: str) -> bytes:
    lines = ["email,topics,exclude,timezone,send_hour,frequency"]
    for n in range(rows):
        topics = "; ".join(TOPICS[(n + k) % len(TOPICS)] for k in range(1 + n % 3))
        lines.append(f"{prefix}{n}@bench.example,{topics},,{ZONES[n % 4]},{n % 24},daily")
    return ("\n".join(lines) + "\n").encode()


def rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1)


def measure(url: str, folder: Path, rows: int) -> dict[str, float]:
    Database(url).upgrade()
    settings = Settings(
        database_url=url, outbox_dir=folder / "outbox", secret_key="bench-secret",
        base_url="https://bench.example", complete_metadata=False,
    )  # fmt: skip
    service = Service.open(settings)
    try:
        data = csv_file(rows, "reader")
        figures = {}
        for name in ("import_confirmed_rows_s", "rerun_rows_s"):
            report = import_subscribers(service, data, "r.csv", confirmed=True, now=NOW)
            figures[name] = rate(report.rows, report.seconds)
        report = import_subscribers(
            service, csv_file(rows, "new"), "n.csv", confirmed=False, now=NOW
        )
        assert report.confirmations_sent == rows, report.as_json()
        figures["import_unconfirmed_rows_s"] = rate(report.rows, report.seconds)
        return figures
    finally:
        service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    start = time.perf_counter()
    parsed = sum(1 for _ in read_rows(csv_file(args.rows, "reader"), "r.csv"))
    result: dict[str, object] = {"rows": args.rows}
    result["parse_rows_s"] = rate(parsed, time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result["sqlite"] = measure(f"sqlite:///{folder / 'bench.db'}", folder / "s", args.rows)
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(postgres_database())
            result["postgres"] = None if url is None else measure(url, folder / "p", args.rows)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
