"""`digest ingest --file` under the fetch's size cap: a huge file is refused by its size, unread.

The files are sparse (``truncate``), so a 210 MB feed costs no disk and no time to make.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from digest.errors import FeedError
from digest.ingest.fetch import FEED_MAX_BYTES, read_feed_file
from digest.pipeline.ingest_job import ingest_files
from digest.service import Service

NOW = dt.datetime(2026, 4, 27, 6, 0, tzinfo=dt.UTC)
HUGE = 210_000_000


def sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_a_file_over_the_cap_is_reported_without_being_read(
    service: Service, tmp_path: Path
) -> None:
    big = sparse_file(tmp_path / "big.xml", HUGE)
    tracemalloc.start()
    try:
        (report,) = ingest_files(service, [big], now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.error == (f"body larger than {FEED_MAX_BYTES} bytes ({HUGE:,} bytes): {big}"), (
        report
    )
    assert peak < 5_000_000, f"peak {peak:,} bytes"


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"x" * 1024)
    assert len(read_feed_file(path, max_bytes=1024)) == 1024
    path.write_bytes(b"x" * 1025)
    expected = f"body larger than 1024 bytes (1,025 bytes): {path}"
    with pytest.raises(FeedError, match=re.escape(expected)):
        read_feed_file(path, max_bytes=1024)


# `digest ARGS` that reports its own peak RSS. VmHWM belongs to the new interpreter's memory;
# getrusage would count the forking test process too.
PEAK_WRAPPER = """
import sys
from digest.cli import main
try:
    main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    print("PEAK", peak.split()[1], file=sys.stderr)
"""


def test_cli_refuses_a_huge_file_with_one_error_line_and_little_memory(tmp_path: Path) -> None:
    """The issue's case: a 210 MB file took 1.1 GB. Now it is one line, at start-up's memory."""
    big = sparse_file(tmp_path / "big.xml", HUGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(DIGEST_DATABASE_URL=f"sqlite:///{tmp_path / 'd.db'}", DIGEST_SECRET_KEY="k")
    digest = [sys.executable, "-c", PEAK_WRAPPER]
    subprocess.run([*digest, "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [*digest, "ingest", "--file", str(big)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stdout.splitlines() if "ERROR" in line]
    assert errors == [
        f"big.xml: new 0, updated 0, duplicates 0, failed 1  ERROR: body larger than "
        f"{FEED_MAX_BYTES} bytes ({HUGE:,} bytes): {big}"
    ]
    (peak_kib,) = [int(line.split()[1]) for line in done.stderr.splitlines() if line[:5] == "PEAK "]
    assert peak_kib < 400_000, f"peak RSS {peak_kib:,} KiB"
