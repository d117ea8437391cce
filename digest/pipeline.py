"""The orchestrator: each job reads top to bottom, calling ingest → store → rank → deliver.

Entry points (CLI, scheduler, web) call these functions and nothing below them directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from digest import rank
from digest.addresses import email_hash
from digest.deliver import send_processes
from digest.deliver.send_loop import DeliveryReport, deliver_due
from digest.ingest_job import IngestReport, ingest_files, ingest_sources
from digest.models import (
    Digest,
    Paper,
    Pick,
    Profile,
    RenderedEmail,
    Subscriber,
    Topic,
    TrendSignal,
)
from digest.ops import due_times, run_tracking
from digest.ops.metrics import process_metrics
from digest.render.compose import compose_digest, digest_message_id
from digest.resources import samples_dir
from digest.service import Service
from digest.store import deliveries, papers, planning, subscribers
from digest.store.seeds import seed_papers

log = logging.getLogger(__name__)


# --- ranking -----------------------------------------------------------------------------


@dataclass
class RankingContext:
    """The candidates of one digest date, analysed once and shared by every subscriber."""

    date: dt.date
    index: rank.CorpusIndex
    signals: dict[int, TrendSignal] = field(default_factory=dict)


def ranking_context(
    service: Service, date: dt.date, window_days: int | None = None
) -> RankingContext:
    """`window_days` overrides the configured window (a weekly digest looks back a week)."""
    with service.db.session() as session:
        window = window_days or service.settings.window_days
        candidates = papers.papers_in_window(session, date, window)
        signals = papers.trend_signals(session, [p.id for p in candidates])
    return RankingContext(date=date, index=rank.build_index(candidates), signals=dict(signals))


def digest_for(
    service: Service, context: RankingContext, subscriber: Subscriber, *, now: dt.datetime
) -> tuple[Digest, list[Pick]]:
    """The digest one subscriber gets for the context's date, and every pick before the cap."""
    with service.db.session() as session:
        already_sent = deliveries.sent_paper_ids(session, subscriber.id)
        seeds = seed_papers(session, subscriber.profile.seeds)
    return _ranked_digest(context, subscriber, already_sent, seeds, now)


def _ranked_digest(
    context: RankingContext,
    subscriber: Subscriber,
    already_sent: set[int],
    seeds: list[Paper],
    now: dt.datetime,
) -> tuple[Digest, list[Pick]]:
    picks = rank.rank(
        subscriber.profile,
        context.index,
        context.signals,
        now=now,
        exclude_paper_ids=already_sent,
        seed_papers=seeds,
    )
    shown, overflow = rank.choose_for_digest(picks, subscriber.profile.per_digest)
    return _digest(context, subscriber, shown, overflow), picks


def _digest(
    context: RankingContext,
    subscriber: Subscriber,
    shown: Sequence[Pick],
    overflow: Sequence[tuple[str, int]],
) -> Digest:
    return Digest(
        subscriber=subscriber,
        date=context.date,
        picks=tuple(shown),
        overflow=tuple(overflow),
        themes=themes_of(shown),
    )


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


PLAN_CHUNK = 500  # subscribers ranked together
FIRST_CHUNK = 100  # smaller, so the sending processes get their first rows sooner
RECORD_CHUNK = 100  # deliveries written per transaction


def plan_digests(
    service: Service,
    date: dt.date,
    *,
    now: dt.datetime,
    only: str | None = None,
    targets: Sequence[Subscriber] | None = None,
    dry_run: bool = False,
    window_days: int | None = None,
) -> PlanReport:
    """Rank the subscribers (default: every confirmed one) and record their deliveries.

    Subscribers are read, ranked and recorded ``PLAN_CHUNK`` at a time (the first chunk is
    smaller), so memory does not grow with their number. A dry run ranks and reports but
    records nothing; `window_days` overrides the setting.
    """
    report = PlanReport(date)
    with service.db.session() as session:
        if only:
            targets = [subscribers.to_subscriber(subscribers.get_row(session, only))]
        ids = planning.confirmed_subscriber_ids(session) if targets is None else []
        have = deliveries.dates_with_delivery(session, date)
        suppressed = subscribers.suppressed_hashes(session)
    context = ranking_context(service, date, window_days)
    editions: dict[planning.EditionKey, int] = {}  # picks recorded so far, shared across chunks
    count = len(targets if targets is not None else ids)
    bounds = [0, *range(FIRST_CHUNK, count, PLAN_CHUNK), count] if count else []
    for start, end in itertools.pairwise(bounds):
        if targets is not None:
            chunk = list(targets[start:end])
        else:
            with service.db.session() as session:
                found = subscribers.subscribers_by_ids(session, ids[start:end])
                chunk = [found[sid] for sid in ids[start:end] if sid in found]
        eligible = []
        for subscriber in chunk:
            if subscriber.id in have:
                report.already_had += 1
            elif subscriber.state == "confirmed" and email_hash(subscriber.email) not in suppressed:
                eligible.append(subscriber)
        _plan_chunk(service, context, eligible, report, editions, now=now, dry_run=dry_run)
    return report


def _plan_chunk(
    service: Service,
    context: RankingContext,
    chunk: Sequence[Subscriber],
    report: PlanReport,
    editions: dict[planning.EditionKey, int],
    *,
    now: dt.datetime,
    dry_run: bool,
) -> None:
    """Rank a chunk of subscribers and record their deliveries, RECORD_CHUNK per transaction."""
    with service.db.session() as session:
        already_sent = planning.sent_paper_ids_many(session, [s.id for s in chunk])
        seeds = {s.id: seed_papers(session, s.profile.seeds) for s in chunk if s.profile.seeds}
    # Subscribers with the same profile and the same papers already sent get the same digest
    # (many pick the same popular topics, and then keep receiving the same papers): rank once.
    unique: dict[tuple[Profile, frozenset[int]], Subscriber] = {}
    for subscriber in chunk:
        unique.setdefault((subscriber.profile, frozenset(already_sent[subscriber.id])), subscriber)
    representatives = list(unique.values())
    ranked = dict(
        zip(
            unique,
            rank.digests_many(
                [s.profile for s in representatives],
                context.index,
                context.signals,
                now=now,
                exclude_paper_ids=[already_sent[s.id] for s in representatives],
                seed_papers=[seeds.get(s.id, []) for s in representatives],
            ),
            strict=True,
        )
    )
    plans = []
    for subscriber in chunk:
        shown, overflow = ranked[subscriber.profile, frozenset(already_sent[subscriber.id])]
        digest = _digest(context, subscriber, shown, overflow)
        kind = "digest" if digest.picks else "nothing"
        if kind == "nothing" and subscriber.profile.quiet_days != "send":
            report.skipped_no_match += 1
            continue
        if dry_run:
            report.previews.append(digest)
            continue
        plans.append(
            deliveries.PlannedDelivery(
                subscriber_id=subscriber.id,
                date=context.date,
                kind=kind,
                picks=digest.picks,
                overflow=digest.overflow,
                themes=digest.themes,
                message_id=digest_message_id(service, subscriber, context.date),
            )
        )
    recorded: set[int] = set()
    for start in range(0, len(plans), RECORD_CHUNK):  # short write transactions: senders
        with service.db.session() as session:  # waiting on SQLite's write lock stall less
            part = plans[start : start + RECORD_CHUNK]
            recorded |= planning.record_planned_many(session, part, now=now, editions=editions)
    report.planned += len(recorded)
    report.already_had += len(plans) - len(recorded)
    report.nothing_notes += sum(p.kind == "nothing" for p in plans if p.subscriber_id in recorded)


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
    if dry_run:
        plan = plan_digests(service, date, now=now, only=to, dry_run=True)
        return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=None)
    if to:
        plan = plan_digests(service, date, now=now, only=to)
        with service.db.session() as session:
            subscriber_id = subscribers.get_row(session, to).id
        delivery = deliver_due(service, now=now, subscriber_id=subscriber_id)
        return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=delivery)
    with service.db.session() as session:
        recipients = len(planning.confirmed_subscriber_ids(session))
    with sending(service, now=now, recipients=recipients) as sent:
        plan = plan_digests(service, date, now=now)
    return RunReport(date=date, ingest=ingest_reports, plan=plan, delivery=sent.report)


@dataclass
class Sending:
    report: DeliveryReport | None = None


@contextlib.contextmanager
def sending(service: Service, *, now: dt.datetime, recipients: int) -> Iterator[Sending]:
    """Deliver what the ``with`` body records: for many recipients, from several processes
    that start sending while planning goes on; else in-process once the body is done."""
    processes = send_processes.process_count(service.settings, recipients)
    result = Sending()
    if processes > 1:
        with send_processes.sending_while_planning(service, now=now, processes=processes) as report:
            yield result
        result.report = report
    else:
        yield result
        result.report = deliver_due(service, now=now)


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


@dataclass
class DueReport:
    plans: list[PlanReport]
    delivery: DeliveryReport | None


def run_due(service: Service, *, now: dt.datetime, dry_run: bool = False) -> DueReport:
    """Record and send exactly the digests due at `now` in each subscriber's own time zone.

    Weekly subscribers look back at least a week, so a weekly digest covers the whole week.
    A real run is recorded in the runs table (for `digest status`, /healthz and /metrics).
    """
    if dry_run:
        return _run_due(service, now=now, dry_run=True)
    with run_tracking.track_run(service, "due", now=now) as run:
        report = _run_due(service, now=now, dry_run=False)
        process_metrics().count_delivery(report.delivery)
        run.summary.update(
            recorded=sum(plan.planned for plan in report.plans),
            nothing_matched=sum(plan.skipped_no_match for plan in report.plans),
            sent=report.delivery.sent if report.delivery else 0,
            deferred=report.delivery.deferred if report.delivery else 0,
            failed=report.delivery.failed if report.delivery else 0,
        )
    return report


def _run_due(service: Service, *, now: dt.datetime, dry_run: bool) -> DueReport:
    groups: dict[tuple[dt.date, int], list[Subscriber]] = {}
    with service.db.session() as session:
        for subscriber, paused_until in subscribers.confirmed_with_pause(session):
            date = due_times.due_digest_date(subscriber, now, paused_until)
            if date is not None:
                window = due_times.window_days_for(subscriber, service.settings.window_days)
                groups.setdefault((date, window), []).append(subscriber)
                log.debug("due", extra={"subscriber_id": subscriber.id, "date": str(date)})
        for date, window in list(groups):  # who already has that date's row needs no ranking
            have = deliveries.dates_with_delivery(session, date)
            groups[date, window] = [s for s in groups[date, window] if s.id not in have]

    def plan_all() -> list[PlanReport]:
        return [
            plan_digests(
                service, date, now=now, targets=targets, dry_run=dry_run, window_days=window
            )
            for (date, window), targets in sorted(groups.items())
            if targets
        ]

    if dry_run:
        return DueReport(plans=plan_all(), delivery=None)
    recipients = sum(len(targets) for targets in groups.values())
    with sending(service, now=now, recipients=recipients) as sent:
        plans = plan_all()
    return DueReport(plans=plans, delivery=sent.report)
