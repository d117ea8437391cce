"""Ingestion jobs: fetch or read each feed, parse it, merge its papers, record source health.

One source at a time from start to end, so the path reads top to bottom; a failing source is
recorded and the others go on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError
from digest.ingest.fetch import fetch
from digest.ingest.parse import parse_feed
from digest.ingest.parse_rss import NO_PAPER_LINK
from digest.service import Service
from digest.store import papers, sources


@dataclass
class IngestReport:
    source: str
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: int = 0
    error: str | None = None
    note: str | None = None


def ingest_document(
    service: Service, source_name: str, data: bytes, *, url: str | None, now: dt.datetime
) -> IngestReport:
    """Parse one feed document and merge its papers; a bad document is reported, not raised."""
    report = IngestReport(source_name)
    try:
        parsed = parse_feed(data, source_url=url, now=now)
    except DigestError as exc:
        report.error, report.failed = str(exc), 1
        return report
    report.failed = sum(d.reason != NO_PAPER_LINK for d in parsed.dropped)
    if parsed.empty_announcement:
        report.note = "no announcement today"
    elif parsed.warning:
        report.note = f"malformed feed, kept what parsed: {parsed.warning}"
    with service.db.session() as session:
        counts = papers.merge_feed_items(session, source_name, parsed.items, now=now)
    report.new, report.updated, report.duplicates = counts.new, counts.updated, counts.duplicates
    return report


def ingest_files(
    service: Service, paths: Sequence[Path], *, now: dt.datetime
) -> list[IngestReport]:
    reports = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            reports.append(
                IngestReport(path.name, failed=1, error=f"cannot read {path}: {exc.strerror}")
            )
            continue
        reports.append(
            ingest_document(service, path.name, data, url=path.resolve().as_uri(), now=now)
        )
    return reports


def ingest_sources(
    service: Service, names: Sequence[str] | None, *, now: dt.datetime
) -> list[IngestReport]:
    """Fetch and ingest configured sources; one failing source never stops the others."""
    with service.db.session() as session:
        targets = [
            (s.name, s.url, s.etag, s.last_modified, s.content_hash)
            for s in sources.list_sources(session, list(names) if names else None)
        ]
    return [ingest_one_source(service, *target, now=now) for target in targets]


def ingest_one_source(
    service: Service,
    name: str,
    url: str,
    etag: str | None,
    last_modified: str | None,
    content_hash: str | None,
    *,
    now: dt.datetime,
) -> IngestReport:
    settings = service.settings
    try:
        result = fetch(
            url,
            etag=etag,
            last_modified=last_modified,
            timeout=settings.http_timeout,
            user_agent=f"digest/0.1 (+mailto:{settings.user_agent_contact})",
        )
    except DigestError as exc:
        _record_source(service, name, now, error=str(exc))
        return IngestReport(name, failed=1, error=str(exc))
    if result.not_modified or result.body is None:
        _record_source(service, name, now, error=None, items=None)
        return IngestReport(name, note="not modified")
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == content_hash:
        _record_source(
            service, name, now, error=None, etag=result.etag, last_modified=result.last_modified
        )
        return IngestReport(name, note="unchanged")
    report = ingest_document(service, name, result.body, url=result.final_url, now=now)
    _record_source(
        service,
        name,
        now,
        error=report.error,
        items=report.new + report.updated + report.duplicates,
        etag=result.etag,
        last_modified=result.last_modified,
        content_hash=None if report.error else body_hash,
    )
    return report


def _record_source(
    service: Service,
    name: str,
    now: dt.datetime,
    *,
    error: str | None,
    items: int | None = None,
    **validators: str | None,
) -> None:
    with service.db.session() as session:
        (row,) = sources.list_sources(session, [name])
        sources.record_attempt(row, now=now, error=error, items=items, **validators)
