"""Sending a large run from several processes, started before planning ends.

One Python process does at most one core of SMTP work, and a large run also ranks and renders.
So for a run with many recipients, ``digest run`` starts one delivery process per core, before
it plans, or, when replicas share the planning, once it has planned ``LAZY_FROM`` itself
(:func:`digest.pipeline.daily.sending`). Each takes its share of the SMTP pool and rate limit,
claims rows as planning records them (the outbox is the database: claims never overlap, see
``deliveries.claim_due``), and stops once planning is over and nothing due is left. Each
claims the rows of its own share of the editions first, so a digest is mostly rendered in one
process rather than in every one.

A worker is a fresh interpreter (``python -m digest.deliver.send_processes``), not a multiprocessing
child, so it works whatever program embeds the pipeline. Its job (settings, clock, share, and the
entry point's function that builds its :class:`DeliveryParts` from those settings, pickled by
name) arrives pickled on stdin, then the line ``planning over``. If the parent dies (stdin
ends without that line, or the worker is adopted by another process), the worker stops: it
starts no further message, lets those in flight finish and be recorded, and exits, so a killed
`digest run` leaves nothing sending behind it. Its report goes back pickled on stdout. Claims a
dead worker leaves behind are settled by the next run, as for any crash.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from digest.config import Settings
from digest.deliver.outcomes import DeliveryReport
from digest.deliver.send_loop import DeliveryParts, deliver_due, recover_abandoned
from digest.errors import DigestError

PLANNING_OVER = b"planning over\n"  # after the job on a worker's stdin; EOF alone: parent died
PARALLEL_FROM = 1000  # recipients; below this a new interpreter (about a second) is not worth it
# Deliveries a replica must have planned itself before it starts sending processes, when
# replicas share the planning (PostgreSQL): each counts every subscriber but plans only its
# share, and two interpreters per replica cost 1.5 CPU s each (bench/replicas.py). One run
# reaches this after two thirds of 3,000, while nothing has been sent yet: the backlog is
# still all of it.
LAZY_FROM = 2000
MAX_AUTO_PROCESSES = 4


class SendProcessFailed(DigestError):
    """A delivery process ended without reporting; its claims are settled by the next run."""


def process_count(settings: Settings, recipients: int) -> int:
    """How many processes should send ``recipients`` messages (1: send in-process)."""
    if settings.delivery_processes:
        return settings.delivery_processes
    if recipients < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_AUTO_PROCESSES))


def share_of(settings: Settings, processes: int) -> Settings:
    """One process's settings: its part of the connections and of the rate limit."""
    rate = settings.smtp_max_per_second
    return settings.model_copy(
        update={
            "smtp_pool_size": max(1, settings.smtp_pool_size // processes),
            "smtp_max_per_second": rate / processes if rate else None,
            "delivery_processes": 1,
        }
    )


BuildParts = Callable[[Settings], DeliveryParts]  # a module-level function: pickled by name


@dataclass(frozen=True)
class WorkerJob:
    """What a sending process is told on stdin."""

    settings: Settings
    now: dt.datetime
    share: tuple[int, int]
    build: BuildParts


class SendProcesses:
    """Delivery processes that send what planning records, started before it or once it is
    under way (:meth:`start`); :meth:`collect` tells them planning is over and waits until
    they have sent everything due.

    Abandoned claims are settled when this is made, before anything is planned; each process
    gets its share of ``settings`` and builds its own parts with ``build``.
    """

    def __init__(
        self,
        parts: DeliveryParts,
        settings: Settings,
        build: BuildParts,
        *,
        now: dt.datetime,
        processes: int,
    ) -> None:
        self.report = DeliveryReport()
        recover_abandoned(parts, now, self.report)
        shared = share_of(settings, processes)
        self._jobs = [WorkerJob(shared, now, (k, processes), build) for k in range(processes)]
        self._workers: list[subprocess.Popen[bytes]] = []

    @property
    def started(self) -> bool:
        return bool(self._workers)

    def start(self) -> None:
        if not self._workers:
            self._workers = [_start(pickle.dumps(job)) for job in self._jobs]

    def collect(self) -> list[str]:
        """Tell the processes planning is over and add up their reports (see _collect)."""
        return _collect(self._workers, self.report)


def _start(job: bytes) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "digest.deliver.send_processes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert worker.stdin is not None
    worker.stdin.write(job)
    worker.stdin.flush()
    return worker


def _collect(workers: Sequence[subprocess.Popen[bytes]], report: DeliveryReport) -> list[str]:
    """Tell every worker planning is over, add up their reports; returns what went wrong."""
    for worker in workers:
        assert worker.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            worker.stdin.write(PLANNING_OVER)
            worker.stdin.close()
    failures = []
    for number, worker in enumerate(workers):
        assert worker.stdout is not None
        output = worker.stdout.read()
        worker.stdout.close()
        worker.wait()
        try:
            result = pickle.loads(output)
        except Exception:  # noqa: BLE001 - whatever it printed, there is no report
            result = None
        if worker.returncode == 0 and isinstance(result, DeliveryReport):
            report.add(result)
        else:
            failures.append(f"delivery process {number} exited with code {worker.returncode}")
    return failures


def work(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """A delivery process: send until stdin ends and nothing due is left, then report."""
    job: WorkerJob = pickle.load(stdin)
    parent = os.getppid()
    planning_over, parent_gone = threading.Event(), threading.Event()

    def stopped() -> bool:  # a dead parent's children are adopted: the parent id changes
        if not parent_gone.is_set() and os.getppid() != parent:
            parent_gone.set()
        return parent_gone.is_set()

    def wait_for_end_of_input() -> None:
        if stdin.read() != PLANNING_OVER:
            parent_gone.set()
        planning_over.set()

    threading.Thread(target=wait_for_end_of_input, daemon=True).start()
    report = deliver_due(
        job.build(job.settings),
        now=job.now,
        recover=False,
        more_coming=lambda: not planning_over.is_set(),
        share=job.share,
        stopped=stopped,
    )
    if parent_gone.is_set():
        sys.exit("delivery process: the run that started it is gone; stopped")
    stdout.write(pickle.dumps(report))
    stdout.flush()


if __name__ == "__main__":
    output = sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the report
    work(sys.stdin.buffer, output)
