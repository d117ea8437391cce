"""One subscriber's digest for a date: the shared ranking context, then rank and cap.

The email, `preview`, the web preview and the archive all build a digest here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from digest import rank
from digest.models import (
    Digest,
    Paper,
    PaperUpdate,
    Pick,
    RenderedEmail,
    Subscriber,
    TrendSignal,
)
from digest.pipeline.embed_job import candidate_vectors, embedder_of
from digest.render.compose import compose_digest, digest_message_id
from digest.service import Service, utcnow
from digest.store import editions, papers, subscribers
from digest.store.seeds import seed_papers

ONE_DAY = dt.timedelta(days=1)


@dataclass
class RankingContext:
    """The candidates of one digest date, analysed once and shared by every subscriber."""

    date: dt.date
    index: rank.CorpusIndex
    signals: dict[int, TrendSignal] = field(default_factory=dict)
    window_days: int = 4
    revised: dict[int, int] = field(default_factory=dict)  # revised in the window: id → version

    def updates_for(
        self, session: Session, subscriber_ids: Sequence[int]
    ) -> dict[int, tuple[PaperUpdate, ...]]:
        """Per subscriber, the papers they got that were revised within the window (newest
        version first read here), for the digest's "Updated" block."""
        revised = editions.revised_since_sent(session, subscriber_ids, self.revised)
        wanted = {paper_id for found in revised.values() for paper_id, _ in found}
        paper_map = papers.papers_by_ids(session, wanted) if wanted else {}
        return {
            sid: tuple(PaperUpdate(paper_map[pid], sent) for pid, sent in found if pid in paper_map)
            for sid, found in revised.items()
        }


def ranking_context(
    service: Service, date: dt.date, window_days: int | None = None
) -> RankingContext:
    """`window_days` overrides the configured window (a weekly digest looks back a week)."""
    embedder = embedder_of(service)
    with service.db.session() as session:
        window = window_days or service.settings.window_days
        candidates = papers.papers_in_window(session, date, window)
        signals = papers.trend_signals(session, [p.id for p in candidates])
        vectors = candidate_vectors(session, candidates, embedder, utcnow())
        since = papers.day_start(date - dt.timedelta(days=window))
        revised = editions.revised_papers(session, since, papers.day_start(date + ONE_DAY))
    index = rank.build_index(candidates, vectors, embedder)
    return RankingContext(date, index, dict(signals), window, revised)


def digest_for(
    service: Service, context: RankingContext, subscriber: Subscriber, *, now: dt.datetime
) -> tuple[Digest, list[Pick]]:
    """The digest one subscriber gets for the context's date, and every pick before the cap."""
    with service.db.session() as session:
        already_sent = editions.sent_paper_ids(session, [subscriber.id])[subscriber.id]
        seeds = seed_papers(session, subscriber.profile.seeds)
        updates = context.updates_for(session, [subscriber.id])[subscriber.id]
    return _ranked_digest(context, subscriber, already_sent, seeds, updates, now)


def _ranked_digest(
    context: RankingContext,
    subscriber: Subscriber,
    already_sent: set[int],
    seeds: list[Paper],
    updates: tuple[PaperUpdate, ...],
    now: dt.datetime,
) -> tuple[Digest, list[Pick]]:
    picks = rank.rank(
        subscriber.profile,
        context.index,
        context.signals,
        now=rank.trend_clock(context.date, now),
        exclude_paper_ids=already_sent,
        seed_papers=seeds,
    )
    shown, overflow = rank.choose_for_digest(picks, subscriber.profile.per_digest)
    return assemble_digest(context, subscriber, shown, overflow, updates), picks


def assemble_digest(
    context: RankingContext,
    subscriber: Subscriber,
    shown: Sequence[Pick],
    overflow: Sequence[tuple[str, int]],
    updates: tuple[PaperUpdate, ...] = (),
) -> Digest:
    return Digest(
        subscriber=subscriber,
        date=context.date,
        picks=tuple(shown),
        overflow=tuple(overflow),
        themes=themes_of(shown),
        updates=updates,
    )


def themes_of(picks: Sequence[Pick]) -> tuple[str, ...]:
    """The subscriber topics that matched most today, most papers first."""
    counts: dict[str, int] = {}
    for pick in picks:
        if pick.topic:
            counts[pick.topic] = counts.get(pick.topic, 0) + 1
    return tuple(sorted(counts, key=lambda topic: (-counts[topic], topic)))


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
        service.composer,
        digest,
        now=now,
        nothing_matched=not digest.picks,
        message_id=digest_message_id(service.settings.sender_domain, subscriber.id, date),
    )
    return digest, rendered
