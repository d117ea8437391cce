"""Ingestion jobs: fetch or read each feed, parse it, merge its papers, record source health.

One source at a time from start to end, so the path reads top to bottom; a failing source is
recorded and the others go on. Requests to one host are spaced by a pacer shared across the
run; a paged API is followed page by page up to a bound; a document whose bytes we already
ingested (304, or the same SHA-256 as last time) is not parsed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError
from digest.ingest.fetch import FetchResult, HostPacer, fetch, read_feed_file
from digest.ingest.kinds import API_MAX_PAGES
from digest.ingest.paging import next_page_url
from digest.ingest.parse import parse_feed
from digest.ingest.parse_rss import NO_PAPER_LINK
from digest.ingest.report import IngestReport
from digest.service import Service
from digest.store import papers, sources

USER_AGENT = "digest/0.1 (+mailto:{contact})"


OnReport = Callable[[IngestReport, int, int], None]  # (report, done so far, total)


@dataclass(frozen=True)
class SourceTarget:
    """What the job needs to know about one configured source, read before fetching."""

    name: str
    url: str
    kind: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None


def ingest_document(
    service: Service,
    source_name: str,
    data: bytes,
    *,
    url: str | None,
    now: dt.datetime,
    kind: str | None = None,
) -> IngestReport:
    """Parse one feed document and merge its papers; a bad document is reported, not raised."""
    report = IngestReport(source_name, pages=1)
    try:
        parsed = parse_feed(data, source_url=url, now=now, source_kind=kind)
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
    service: Service,
    paths: Sequence[Path],
    *,
    now: dt.datetime,
    on_report: OnReport | None = None,
) -> list[IngestReport]:
    """Ingest local feed files, each under the same size cap as a fetched feed."""
    reports = []
    for path in paths:
        try:
            data = read_feed_file(path)
        except DigestError as exc:
            report = IngestReport(path.name, failed=1, error=str(exc))
        else:
            url = path.resolve().as_uri()
            report = ingest_document(service, path.name, data, url=url, now=now)
        reports.append(report)
        if on_report:
            on_report(report, len(reports), len(paths))
    return reports


def ingest_sources(
    service: Service,
    names: Sequence[str] | None,
    *,
    now: dt.datetime,
    pacer: HostPacer | None = None,
    on_report: OnReport | None = None,
) -> list[IngestReport]:
    """Fetch and ingest configured sources; one failing source never stops the others."""
    with service.db.session() as session:
        targets = [
            SourceTarget(s.name, s.url, s.kind, s.etag, s.last_modified, s.content_hash)
            for s in sources.list_sources(session, list(names) if names else None)
        ]
    pacer = pacer or HostPacer()
    reports = []
    for target in targets:
        try:
            report = ingest_one_source(service, target, now=now, pacer=pacer)
        except DigestError as exc:  # e.g. the database refused: record it, go on
            report = IngestReport(target.name, failed=1, error=str(exc))
        reports.append(report)
        if on_report:
            on_report(report, len(reports), len(targets))
    return reports


def ingest_one_source(
    service: Service, target: SourceTarget, *, now: dt.datetime, pacer: HostPacer
) -> IngestReport:
    """Fetch one source (every page of a paged API), ingest what changed, record its health."""
    try:
        first = _fetch(service, target.url, pacer, target.etag, target.last_modified)
    except DigestError as exc:
        return _failed(service, target.name, str(exc), now)
    if first.not_modified or first.body is None:
        _record_source(service, target.name, now, error=None)
        return IngestReport(target.name, note="not modified (304)", pages=1)
    body_hash = hashlib.sha256(first.body).hexdigest()
    etag, last_modified = first.etag, first.last_modified
    if body_hash == target.content_hash:
        _record_source(
            service, target.name, now, error=None, etag=etag, last_modified=last_modified
        )
        return IngestReport(target.name, note="unchanged (same bytes)", pages=1)
    report = ingest_document(
        service, target.name, first.body, url=first.final_url, now=now, kind=target.kind
    )
    if report.error is None:
        _follow_pages(service, target, first, report, now, pacer)
    if report.error is not None:
        failed = _failed(service, target.name, report.error, now)
        report.error, report.failing = failed.error, failed.failing
        return report
    _record_source(
        service,
        target.name,
        now,
        error=None,
        items=report.new + report.updated + report.duplicates,
        content_hash=body_hash,
        etag=etag,
        last_modified=last_modified,
    )
    return report


def _follow_pages(
    service: Service,
    target: SourceTarget,
    first: FetchResult,
    report: IngestReport,
    now: dt.datetime,
    pacer: HostPacer,
) -> None:
    """Fetch and merge the pages after the first, up to API_MAX_PAGES; counts go to ``report``."""
    url, body = first.final_url, first.body or b""
    while report.pages < API_MAX_PAGES:
        next_url = next_page_url(target.kind, url, body)
        if next_url is None:
            return
        try:
            page = _fetch(service, next_url, pacer, None, None)
        except DigestError as exc:
            report.note = f"stopped after page {report.pages}: {exc}"
            return
        url, body = page.final_url, page.body or b""
        more = ingest_document(service, target.name, body, url=url, now=now, kind=target.kind)
        if more.error is not None:
            report.note = f"stopped after page {report.pages}: {more.error}"
            return
        report.pages += 1
        report.new += more.new
        report.updated += more.updated
        report.duplicates += more.duplicates
        report.failed += more.failed


def _fetch(
    service: Service, url: str, pacer: HostPacer, etag: str | None, last_modified: str | None
) -> FetchResult:
    settings = service.settings
    return fetch(
        url,
        etag=etag,
        last_modified=last_modified,
        timeout=settings.http_timeout,
        user_agent=USER_AGENT.format(contact=settings.user_agent_contact),
        pacer=pacer,
    )


def _failed(service: Service, name: str, error: str, now: dt.datetime) -> IngestReport:
    """Record a failure; a source failing for days says so in its error, loudly."""
    with service.db.session() as session:
        (row,) = sources.list_sources(session, [name])
        sources.record_attempt(row, now=now, error=error, items=None)
        alarm = sources.failing_alarm(row, now)
    if alarm:
        return IngestReport(name, failed=1, error=f"{error}; {alarm}", failing=True)
    return IngestReport(name, failed=1, error=error)


def _record_source(
    service: Service,
    name: str,
    now: dt.datetime,
    *,
    error: str | None,
    items: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    content_hash: str | None = None,
) -> None:
    with service.db.session() as session:
        (row,) = sources.list_sources(session, [name])
        sources.record_attempt(
            row,
            now=now,
            error=error,
            items=items,
            etag=etag,
            last_modified=last_modified,
            content_hash=content_hash,
        )
