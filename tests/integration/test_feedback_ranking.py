"""One click moves the profile: the next digest ranks papers like the clicked one differently."""

from __future__ import annotations

import datetime as dt

from digest import pipeline
from digest.models import Pick, Profile, Topic
from digest.pipeline.embed_job import embedder_of
from digest.resources import samples_dir
from digest.service import Service
from digest.store import feedback, subscribers

NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 30)
EMAIL = "reader@example.org"


def _ranked(service: Service) -> list[Pick]:
    with service.db.session() as session:
        subscriber = subscribers.to_subscriber(subscribers.get_row(session, EMAIL))
    context = pipeline.ranking_context(service, DAY, window_days=30)
    _, picks = pipeline.digest_for(service, context, subscriber, now=NOW)
    return picks


def _setup(service: Service) -> int:
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=NOW)
    profile = {"topics": (Topic("agents"), Topic("reinforcement learning")), "trending": 0.0}
    with service.db.session() as session:
        row, _ = subscribers.upsert_subscriber(
            session, EMAIL, now=NOW, state="confirmed", profile_changes=profile
        )
        return row.id


def _click(service: Service, subscriber_id: int, paper_id: int, direction: str) -> None:
    with service.db.session() as session:
        assert feedback.record_feedback(session, subscriber_id, paper_id, direction, now=NOW)


def test_less_like_this_lowers_the_paper_and_its_neighbours(service: Service) -> None:
    subscriber_id = _setup(service)
    before = {p.paper.id: p.score for p in _ranked(service)}
    clicked = max(before, key=lambda i: (before[i], -i))
    _click(service, subscriber_id, clicked, "less")
    after_picks = _ranked(service)
    after = {p.paper.id: p.score for p in after_picks}
    assert after_picks[0].paper.id != clicked
    assert after.get(clicked, 0.0) < before[clicked]
    lowered = [i for i in before if i != clicked and after.get(i, 0.0) < before[i] - 1e-9]
    assert lowered
    assert all(after.get(i, 0.0) <= before[i] + 1e-9 for i in before if i not in lowered)


def test_more_like_this_lifts_similar_papers(service: Service) -> None:
    subscriber_id = _setup(service)
    before_picks = _ranked(service)
    before = {p.paper.id: p.score for p in before_picks}
    clicked = before_picks[len(before_picks) // 2].paper.id
    _click(service, subscriber_id, clicked, "more")
    after_picks = _ranked(service)
    after = {p.paper.id: p.score for p in after_picks}
    lifted = [i for i in before if i != clicked and after[i] > before[i] + 1e-9]
    assert lifted
    assert any(
        "like your seed" in r for p in after_picks if p.paper.id in lifted for r in p.reasons
    )


def test_feedback_is_kept_in_the_profile_seeds(service: Service) -> None:
    subscriber_id = _setup(service)
    picks = _ranked(service)
    liked, disliked = picks[0].paper, picks[1].paper
    _click(service, subscriber_id, liked.id, "more")
    _click(service, subscriber_id, disliked.id, "less")
    with service.db.session() as session:
        profile: Profile = subscribers.to_subscriber(subscribers.get_row(session, EMAIL)).profile
    assert profile.seeds == (
        liked.arxiv_id or liked.doi,
        "-" + (disliked.arxiv_id or disliked.doi or ""),
    )


def test_clicks_leave_the_typed_topics_and_weights_as_typed(service: Service) -> None:
    subscriber_id = _setup(service)
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session, EMAIL, now=NOW, profile_changes={"topics": (Topic("agents", 2.0),)}
        )
    picks = _ranked(service)
    embedder = embedder_of(service)
    with service.db.session() as session:
        for pick, direction in zip(picks[:4], ("more", "less", "more", "less"), strict=True):
            feedback.record_feedback(
                session, subscriber_id, pick.paper.id, direction, now=NOW, embedder=embedder
            )
    with service.db.session() as session:
        row = subscribers.get_row(session, EMAIL)
        profile = subscribers.to_subscriber(row).profile
        shown = subscribers.subscriber_json(row)["topics"]
    assert profile.topics == (Topic("agents", 2.0),)
    assert shown == ["agents:2"]
    assert profile.learnt is not None and profile.learnt.ratings == 4


def test_learnt_taste_lifts_the_neighbours_of_liked_papers(service: Service) -> None:
    subscriber_id = _setup(service)
    before = {p.paper.id: p.score for p in _ranked(service)}
    ordered = sorted(before, key=lambda i: (-before[i], i))
    liked, disliked = ordered[len(ordered) // 2], ordered[0]
    embedder = embedder_of(service)
    with service.db.session() as session:
        for paper_id, direction in ((liked, "more"), (disliked, "less")):
            feedback.record_feedback(
                session, subscriber_id, paper_id, direction, now=NOW, embedder=embedder
            )
    after_picks = _ranked(service)
    after = {p.paper.id: p.score for p in after_picks}
    lifted = [i for i in before if i not in (liked, disliked) and after.get(i, 0) > before[i]]
    assert lifted
    assert disliked not in after
