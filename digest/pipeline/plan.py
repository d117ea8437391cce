"""Planning: rank every due subscriber, chunk by chunk, and record their deliveries."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from digest import rank
from digest.models import (
    Digest,
    Profile,
    Subscriber,
)
from digest.pipeline.digests import RankingContext, assemble_digest, ranking_context
from digest.pipeline.tldr_job import TldrMaker
from digest.render.compose import digest_message_id
from digest.service import Service
from digest.store import deliveries, plan_shards, planning, subscribers, suppressions
from digest.store.editions import EditionKey, sent_paper_ids
from digest.store.seeds import seed_papers


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
    shard_key: str | None = None,
    on_recorded: Callable[[int], None] | None = None,
) -> PlanReport:
    """Rank the subscribers (default: every confirmed one) and record their deliveries.

    Read, ranked and recorded ``PLAN_CHUNK`` at a time (the first chunk is smaller), so memory
    does not grow with their number. A dry run records nothing; `window_days` overrides the
    setting. With ``shard_key`` on PostgreSQL, replicas share the run in shards (see
    :mod:`digest.store.plan_shards`). ``on_recorded`` hears each chunk's recorded count.
    """
    with service.db.session() as session:
        if only:
            targets = [subscribers.to_subscriber(subscribers.get_row(session, only))]
        ids = planning.confirmed_subscriber_ids(session) if targets is None else []
        have = deliveries.dates_with_delivery(session, date)
        suppressed = suppressions.suppression_list(session)
    run = _PlanRun(
        service,
        ranking_context(service, date, window_days),
        PlanReport(date),
        TldrMaker(service),
        have,
        suppressed,
        now=now,
        dry_run=dry_run,
        on_recorded=on_recorded or (lambda count: None),
    )
    everyone = [t.id for t in targets] if targets is not None else ids
    if shard_key and not (dry_run or only) and service.db.engine.dialect.name == "postgresql":
        plan_shards.plan_in_shards(
            service.db,
            shard_key,
            everyone,
            lambda start, end: run.plan(_within(targets, ids, start, end)),
            now=now,
            first=FIRST_CHUNK,
            size=PLAN_CHUNK,
        )
    else:
        run.plan(targets if targets is not None else ids)
    return run.report


def _within(
    targets: Sequence[Subscriber] | None, ids: Sequence[int], start: int, end: int | None
) -> Sequence[Subscriber] | Sequence[int]:
    """The targets (or ids) whose subscriber id lies in the shard [start, end)."""
    if targets is not None:
        return [t for t in targets if start <= t.id and (end is None or t.id < end)]
    return [sid for sid in ids if start <= sid and (end is None or sid < end)]


@dataclass
class _PlanRun:
    """What every chunk of one planning run shares."""

    service: Service
    context: RankingContext
    report: PlanReport
    tldr: TldrMaker
    have: set[int]
    suppressed: suppressions.SuppressionList
    now: dt.datetime
    dry_run: bool
    on_recorded: Callable[[int], None]
    editions: dict[EditionKey, int] = field(default_factory=dict)  # picks recorded so far

    def plan(self, who: Sequence[Subscriber] | Sequence[int]) -> None:
        """Plan these subscribers (or ids, read chunk by chunk), FIRST_CHUNK, then PLAN_CHUNK."""
        count = len(who)
        bounds = [0, *range(FIRST_CHUNK, count, PLAN_CHUNK), count] if count else []
        for start, end in itertools.pairwise(bounds):
            chunk = self._subscribers(who[start:end])
            eligible = []
            for subscriber in chunk:
                if subscriber.id in self.have:
                    self.report.already_had += 1
                elif subscriber.state == "confirmed" and subscriber.email not in self.suppressed:
                    eligible.append(subscriber)
            planned = self.report.planned
            _plan_chunk(
                self.service,
                self.context,
                eligible,
                self.report,
                self.editions,
                self.tldr,
                now=self.now,
                dry_run=self.dry_run,
            )
            if self.report.planned > planned:
                self.on_recorded(self.report.planned - planned)

    def _subscribers(self, part: Sequence[Subscriber] | Sequence[int]) -> list[Subscriber]:
        ids = [item for item in part if isinstance(item, int)]
        if len(ids) < len(part):
            return [item for item in part if isinstance(item, Subscriber)]
        with self.service.db.session() as session:
            found = subscribers.subscribers_by_ids(session, ids)
        return [found[sid] for sid in ids if sid in found]


def _plan_chunk(
    service: Service,
    context: RankingContext,
    chunk: Sequence[Subscriber],
    report: PlanReport,
    editions: dict[EditionKey, int],
    tldr: TldrMaker,
    *,
    now: dt.datetime,
    dry_run: bool,
) -> None:
    """Rank a chunk of subscribers and record their deliveries, RECORD_CHUNK per transaction;
    the picks' TL;DRs (when configured) are made first, so the senders find them stored."""
    digests = _rank_chunk(service, context, chunk, now=now)
    plans = []
    for subscriber in chunk:
        digest = digests[subscriber.id]
        kind = "digest" if digest.picks else "nothing"
        if kind == "nothing" and subscriber.profile.quiet_days != "send":
            report.skipped_no_match += 1
        elif dry_run:
            report.previews.append(digest)
        else:
            plans.append(_planned(service, digest, kind))
    tldr.ensure((pick.paper for plan in plans for pick in plan.picks), now=now)
    _record(service, plans, report, editions, now=now)


def _rank_chunk(
    service: Service, context: RankingContext, chunk: Sequence[Subscriber], *, now: dt.datetime
) -> dict[int, Digest]:
    """Each subscriber's digest, ranking once per distinct (profile, papers already sent)."""
    with service.db.session() as session:
        already_sent = sent_paper_ids(session, [s.id for s in chunk])
        seeds = {s.id: seed_papers(session, s.profile.seeds) for s in chunk if s.profile.seeds}
        updates = context.updates_for(session, [s.id for s in chunk])
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
                now=rank.trend_clock(context.date, now),
                exclude_paper_ids=[already_sent[s.id] for s in representatives],
                seed_papers=[seeds.get(s.id, []) for s in representatives],
            ),
            strict=True,
        )
    )
    digests = {}
    for subscriber in chunk:
        shown, overflow = ranked[subscriber.profile, frozenset(already_sent[subscriber.id])]
        digests[subscriber.id] = assemble_digest(
            context, subscriber, shown, overflow, updates[subscriber.id]
        )
    return digests


def _planned(service: Service, digest: Digest, kind: str) -> planning.PlannedDelivery:
    return planning.PlannedDelivery(
        subscriber_id=digest.subscriber.id,
        date=digest.date,
        kind=kind,
        picks=digest.picks,
        overflow=digest.overflow,
        themes=digest.themes,
        updates=digest.updates,
        message_id=digest_message_id(
            service.settings.sender_domain, digest.subscriber.id, digest.date
        ),
    )


def _record(
    service: Service,
    plans: Sequence[planning.PlannedDelivery],
    report: PlanReport,
    editions: dict[EditionKey, int],
    *,
    now: dt.datetime,
) -> None:
    recorded: set[int] = set()
    for start in range(0, len(plans), RECORD_CHUNK):  # short write transactions: senders
        with service.db.session() as session:  # waiting on SQLite's write lock stall less
            part = plans[start : start + RECORD_CHUNK]
            recorded |= planning.record_planned_many(session, part, now=now, editions=editions)
    report.planned += len(recorded)
    report.already_had += len(plans) - len(recorded)
    report.nothing_notes += sum(p.kind == "nothing" for p in plans if p.subscriber_id in recorded)
