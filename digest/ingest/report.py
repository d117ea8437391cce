"""What ingesting one source did: the counts the CLI prints and the metrics count.

It lives below both the ingest job (pipeline/) that fills it and ops/metrics.py that reads it,
so that neither has to import upwards.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IngestReport:
    source: str
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: int = 0
    error: str | None = None
    note: str | None = None
    pages: int = 0
    failing: bool = False  # failing for days: the CLI prints a warning at the end of the run
