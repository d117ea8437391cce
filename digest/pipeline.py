"""The orchestrator: each job reads top to bottom, calling ingest → store → rank → deliver.

Entry points (CLI, scheduler, web) call these functions and nothing below them directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest import rank
from digest.addresses import email_hash
from digest.compose import compose_digest, digest_message_id
from digest.deliver import DeliveryReport, deliver_due
from digest.errors import DigestError
from digest.ingest.fetch import fetch
from digest.ingest.parse import parse_feed
from digest.models import Digest, Pick, RenderedEmail, Subscriber, Topic, TrendSignal
from digest.resources import samples_dir
from digest.service import Service
from digest.store import deliveries, papers, sources, subscribers

log = logging.getLogger(__name__)


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
    report.failed = len(parsed.dropped)
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


# --- ranking -----------------------------------------------------------------------------


@dataclass
class RankingContext:
    """The candidates of one digest date, analysed once and shared by every subscriber."""

    date: dt.date
    index: rank.CorpusIndex
    signals: dict[int, TrendSignal] = field(default_factory=dict)


def ranking_context(service: Service, date: dt.date) -> RankingContext:
    with service.db.session() as session:
        candidates = papers.papers_in_window(session, date, service.settings.window_days)
        signals = papers.trend_signals(session, [p.id for p in candidates])
    return RankingContext(date=date, index=rank.build_index(candidates), signals=dict(signals))


def digest_for(
    service: Service, context: RankingContext, subscriber: Subscriber, *, now: dt.datetime
) -> tuple[Digest, list[Pick]]:
    """The digest one subscriber gets for the context's date, and every pick before the cap."""
    with service.db.session() as session:
        already_sent = deliveries.sent_paper_ids(session, subscriber.id)
    picks = rank.rank(
        subscriber.profile, context.index, context.signals, now=now, exclude_paper_ids=already_sent
    )
    shown, overflow = rank.choose_for_digest(picks, subscriber.profile.per_digest)
    return Digest(
        subscriber=subscriber,
        date=context.date,
        picks=tuple(shown),
        overflow=tuple(overflow),
        themes=themes_of(shown),
    ), picks


def themes_of(picks: Sequence[Pick]) -> tuple[str, ...]:
    """The subscriber topics that matched most today, most papers first."""
    counts: dict[str, int] = {}
    for pick in picks:
        if pick.topic:
            counts[pick.topic] = counts.get(pick.topic, 0) + 1
    return tuple(sorted(counts, key=lambda topic: (-counts[topic], topic)))


# --- the daily job -----------------------------------------------------------------------


@dataclass
class PlanReport:
    date: dt.date
    planned: int = 0
    nothing_notes: int = 0
    already_had: int = 0
    skipped_no_match: int = 0
    previews: list[Digest] = field(default_factory=list)


def plan_digests(
    service: Service,
    date: dt.date,
    *,
    now: dt.datetime,
    only: str | None = None,
    dry_run: bool = False,
) -> PlanReport:
    """Rank every confirmed subscriber and write their delivery rows (not for a dry run)."""
    report = PlanReport(date)
    with service.db.session() as session:
        if only:
            targets = [subscribers.to_subscriber(subscribers.get_row(session, only))]
        else:
            targets = subscribers.list_subscribers(session, ["confirmed"])
        have = deliveries.dates_with_delivery(session, date)
        suppressed = subscribers.suppressed_hashes(session)
    context = ranking_context(service, date)
    for subscriber in targets:
        if subscriber.id in have:
            report.already_had += 1
            continue
        if subscriber.state != "confirmed" or email_hash(subscriber.email) in suppressed:
            continue
        digest, _ = digest_for(service, context, subscriber, now=now)
        kind = "digest" if digest.picks else "nothing"
        if kind == "nothing" and subscriber.profile.quiet_days != "send":
            report.skipped_no_match += 1
            continue
        if dry_run:
            report.previews.append(digest)
            continue
        plan = deliveries.PlannedDelivery(
            subscriber_id=subscriber.id,
            date=date,
            kind=kind,
            picks=digest.picks,
            overflow=digest.overflow,
            themes=digest.themes,
            message_id=digest_message_id(service, subscriber, date),
        )
        with service.db.session() as session:
            if not deliveries.record_planned(session, plan, now=now):
                report.already_had += 1
                continue
        report.planned += 1
        report.nothing_notes += kind == "nothing"
    return report


@dataclass
class RunReport:
    date: dt.date
    ingest: list[IngestReport]
    plan: PlanReport
    delivery: DeliveryReport | None


def run_daily(
    service: Service,
    date: dt.date,
    *,
    now: dt.datetime,
    dry_run: bool = False,
    to: str | None = None,
    ingest: bool = True,
) -> RunReport:
    """The daily job once: ingest configured sources, rank, record, render and deliver."""
    ingest_reports = ingest_sources(service, None, now=now) if ingest and not dry_run else []
    plan = plan_digests(service, date, now=now, only=to, dry_run=dry_run)
    delivery = None
    if not dry_run:
        subscriber_id = None
        if to:
            with service.db.session() as session:
                subscriber_id = subscribers.get_row(session, to).id
        delivery = deliver_due(service, now=now, subscriber_id=subscriber_id)
    return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=delivery)


def preview(
    service: Service, email: str, date: dt.date, *, now: dt.datetime, limit: int | None = None
) -> tuple[Digest, RenderedEmail]:
    """Exactly what `run` would send this subscriber for `date` (nothing is recorded)."""
    with service.db.session() as session:
        subscriber = subscribers.to_subscriber(subscribers.get_row(session, email))
    if limit is not None:
        profile = dataclasses.replace(subscriber.profile, per_digest=limit)
        subscriber = dataclasses.replace(subscriber, profile=profile)
    digest, _ = digest_for(service, ranking_context(service, date), subscriber, now=now)
    rendered, _ = compose_digest(
        service,
        digest,
        now=now,
        nothing_matched=not digest.picks,
        message_id=digest_message_id(service, subscriber, date),
    )
    return digest, rendered


# --- the offline demo --------------------------------------------------------------------

SAMPLE_SUBSCRIBERS = (
    ("ada@example.org", ("LLM agents", "reinforcement learning"), ("medical imaging",)),
    ("grace@example.org", ("diffusion models", "video generation", "knowledge distillation"), ()),
)


@dataclass
class DemoResult:
    ingest: list[IngestReport]
    added_subscribers: list[str]
    date: dt.date
    run: RunReport


def run_demo(service: Service, *, now: dt.datetime) -> DemoResult:
    """Bundled samples in, two sample subscribers if there are none, one daily run.

    The digest date is the day of the newest sample paper, so a rerun on any day is the same
    day's digest again and sends nothing.
    """
    reports = ingest_files(service, sorted(samples_dir().iterdir()), now=now)
    added = []
    with service.db.session() as session:
        if not subscribers.all_rows(session):
            for email, topics, exclude in SAMPLE_SUBSCRIBERS:
                subscribers.upsert_subscriber(
                    session,
                    email,
                    now=now,
                    state="confirmed",
                    profile_changes={"topics": tuple(Topic(t) for t in topics), "exclude": exclude},
                )
                added.append(email)
        date = papers.newest_announcement(session) or now.date()
    run = run_daily(service, date, now=now, ingest=False)
    return DemoResult(ingest=reports, added_subscribers=added, date=date, run=run)
