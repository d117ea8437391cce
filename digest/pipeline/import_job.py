"""`digest subscribers import`: a CSV or JSON Lines file of subscribers, a chunk per transaction.

Each chunk of rows is checked, written in one transaction and committed before the next is
read, so a large file neither holds one long transaction nor costs one per row. Bad rows are
reported by line and skipped; addresses on the suppression list are never imported; addresses
with a row already are left alone. Without ``confirmed``, every address added gets the confirm
email a sign-up gets (double opt-in) once its chunk is committed; a rerun adds nothing, so it
sends nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from digest.pipeline.import_rows import BadRow, ImportRow, read_rows
from digest.service import Service
from digest.store import imports, subscribers, suppressions

IMPORT_CHUNK = 1000  # rows per transaction


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    existing: int = 0
    suppressed: int = 0
    bad: list[BadRow] = field(default_factory=list)
    confirmations_sent: int = 0
    confirmations_over_allowance: int = 0
    confirmations_failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "added": self.added,
            "existing": self.existing,
            "suppressed": self.suppressed,
            "bad": [{"line": bad.line, "error": bad.error} for bad in self.bad],
            "confirmations_sent": self.confirmations_sent,
            "confirmations_over_allowance": self.confirmations_over_allowance,
            "confirmations_failed": self.confirmations_failed,
            "seconds": round(self.seconds, 3),
        }


def import_subscribers(
    service: Service,
    data: bytes,
    name: str,
    *,
    confirmed: bool,
    now: dt.datetime,
    chunk_size: int = IMPORT_CHUNK,
) -> ImportReport:
    """Import the file's rows; ``name`` (the file's name) tells CSV from JSON Lines."""
    started = time.perf_counter()
    report = ImportReport()
    rows = read_rows(data, name)  # a file that is unusable as a whole raises here, first
    with service.db.session() as session:
        suppressed = suppressions.suppression_list(session)
    seen: dict[str, int] = {}  # address: the line that had it first
    while chunk := list(itertools.islice(rows, chunk_size)):
        good = _first_mentions(chunk, seen, report)
        allowed = [row for row in good if row.email not in suppressed]
        report.suppressed += len(good) - len(allowed)
        added = _write_chunk(service, allowed, report, now=now, confirmed=confirmed)
        if added and not confirmed:
            _confirm(service, added, report, now=now)
    report.seconds = time.perf_counter() - started
    return report


def _first_mentions(
    chunk: list[ImportRow | BadRow], seen: dict[str, int], report: ImportReport
) -> list[ImportRow]:
    """The good rows whose address the file has not named before; the rest go to ``bad``."""
    good = []
    for row in chunk:
        report.rows += 1
        if isinstance(row, BadRow):
            report.bad.append(row)
        elif row.email in seen:
            report.bad.append(BadRow(row.line, f"{row.email} is already on line {seen[row.email]}"))
        else:
            seen[row.email] = row.line
            good.append(row)
    return good


def _write_chunk(
    service: Service,
    rows: list[ImportRow],
    report: ImportReport,
    *,
    now: dt.datetime,
    confirmed: bool,
) -> list[int]:
    """One transaction: the chunk's new addresses; returns the ids added."""
    with service.db.session() as session:
        have = imports.existing_emails(session, [row.email for row in rows])
        new = [(row.email, row.profile, _schedule(row)) for row in rows if row.email not in have]
        added = imports.insert_subscribers(session, new, now=now, confirmed=confirmed)
    report.added += len(added)
    report.existing += len(rows) - len(added)
    return [subscriber_id for subscriber_id, _ in added]


def _schedule(row: ImportRow) -> dict[str, Any]:
    return {"timezone": row.timezone, "send_hour": row.send_hour, "frequency": row.frequency}


def _confirm(service: Service, ids: list[int], report: ImportReport, *, now: dt.datetime) -> None:
    from digest.web.invite import send_confirmations  # the sign-up's email, from the web layer

    with service.db.session() as session:
        found = subscribers.subscribers_by_ids(session, ids)
    sent = send_confirmations(service, [found[i] for i in ids if i in found], now=now)
    report.confirmations_sent += sent.sent
    report.confirmations_over_allowance += sent.over_allowance
    report.confirmations_failed += sent.failed
