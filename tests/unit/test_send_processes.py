"""How a large run is split over sending processes, and what a process that dies leaves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from digest.deliver import send_processes
from digest.deliver.outcomes import DeliveryReport
from tests.conftest import make_settings


def test_small_runs_send_in_process_and_large_ones_use_the_cores(tmp_path: Path) -> None:
    settings = make_settings("sqlite:///x.db", tmp_path)
    assert send_processes.process_count(settings, 10) == 1
    expected = max(1, min(os.cpu_count() or 1, send_processes.MAX_AUTO_PROCESSES))
    assert send_processes.process_count(settings, 50_000) == expected
    pinned = make_settings("sqlite:///x.db", tmp_path, delivery_processes=3)
    assert send_processes.process_count(pinned, 10) == 3
    single = make_settings("sqlite:///x.db", tmp_path, delivery_processes=1)
    assert send_processes.process_count(single, 50_000) == 1


def test_each_process_gets_its_share_of_connections_and_rate(tmp_path: Path) -> None:
    settings = make_settings("sqlite:///x.db", tmp_path, smtp_pool_size=5, smtp_max_per_second=30.0)
    share = send_processes.share_of(settings, 2)
    assert (share.smtp_pool_size, share.smtp_max_per_second) == (2, 15.0)
    assert share.delivery_processes == 1 and share.database_url == settings.database_url
    assert send_processes.share_of(settings, 8).smtp_pool_size == 1


def test_a_process_that_dies_without_a_report_is_named() -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    report = DeliveryReport()
    failures = send_processes._collect([worker], report)
    assert failures == ["delivery process 0 exited with code 3"]
    assert report == DeliveryReport()


def test_reports_add_up() -> None:
    total = DeliveryReport(sent=2, recovered={"ambiguous": 1})
    total.add(DeliveryReport(sent=3, failed=1, recovered={"ambiguous": 2, "pending": 1}))
    assert (total.sent, total.failed) == (5, 1)
    assert total.recovered == {"ambiguous": 3, "pending": 1}
