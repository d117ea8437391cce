"""Sending a large run from several processes, started before planning ends.

One Python process does at most one core of SMTP work, and a large run also ranks and renders.
So for a run with many recipients, ``digest run`` starts one delivery process per core before it
plans. Each takes its share of the SMTP pool and rate limit, claims rows as planning records
them (the outbox is the database: claims never overlap, see ``deliveries.claim_due``), and
stops once planning has finished and nothing due is left. A process whose parent died stops
claiming, so a killed run leaves no sender behind; its claims are settled by the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import queue
from collections.abc import Iterator, Sequence
from multiprocessing.synchronize import Event

from digest.config import Settings
from digest.deliver import deliver_due, recover_abandoned
from digest.errors import DigestError
from digest.outcomes import DeliveryReport
from digest.service import Service

log = logging.getLogger(__name__)

PARALLEL_FROM = 1000  # recipients; below this a spawned process (about a second) is not worth it
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


@contextlib.contextmanager
def sending_while_planning(
    service: Service, *, now: dt.datetime, processes: int
) -> Iterator[DeliveryReport]:
    """Delivery processes that send what the ``with`` body records; the report fills on exit.

    Leaving the block (normally or by an exception) tells them planning is over; the exit then
    waits until they have sent everything due.
    """
    report = DeliveryReport()
    recover_abandoned(service, now, report)
    context = multiprocessing.get_context("spawn")  # no inherited connections or threads
    planning_over = context.Event()
    results: multiprocessing.Queue[DeliveryReport | str] = context.Queue()
    settings = share_of(service.settings, processes)
    workers = [
        context.Process(
            target=_send, args=(settings, now, planning_over, results), name=f"digest-send-{n}"
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        yield report
    finally:
        planning_over.set()
        failures = _collect(workers, results, report)
    if failures:
        raise SendProcessFailed("; ".join(failures))


def _collect(
    workers: Sequence[multiprocessing.process.BaseProcess],
    results: multiprocessing.Queue[DeliveryReport | str],
    report: DeliveryReport,
) -> list[str]:
    """Wait for every worker's report (or its death); returns what went wrong."""
    failures: list[str] = []
    reported = 0
    while reported < len(workers):
        try:
            result = results.get(timeout=1.0)
        except queue.Empty:
            if all(w.exitcode is not None for w in workers) and results.empty():
                codes = ", ".join(f"{w.name}: {w.exitcode}" for w in workers)
                failures.append(f"a delivery process exited without a report ({codes})")
                break
            continue
        reported += 1
        if isinstance(result, str):
            failures.append(result)
        else:
            report.add(result)
    for worker in workers:
        worker.join()
    return failures


def _send(
    settings: Settings,
    now: dt.datetime,
    planning_over: Event,
    results: multiprocessing.Queue[DeliveryReport | str],
) -> None:
    """A delivery process: send until planning is over and nothing due is left, then report."""
    parent = multiprocessing.parent_process()

    def more_coming() -> bool:
        return not planning_over.is_set() and parent is not None and parent.is_alive()

    try:
        service = Service.open(settings)
        report = deliver_due(service, now=now, recover=False, more_coming=more_coming)
    except BaseException as exc:
        results.put(f"{multiprocessing.current_process().name}: {type(exc).__name__}: {exc}")
        raise
    results.put(report)
