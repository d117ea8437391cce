"""What digest.rank.select decides: the trending signal's share and decay, and which picks fill
the digest's slots (a dominant topic is capped when others are nearly as good)."""

from __future__ import annotations

import datetime as dt

from digest.models import Pick, TrendSignal
from digest.rank import build_index, choose_for_digest, rank
from tests.unit.test_rank import (
    EVOARENA,
    NOW,
    SG_OPD,
    SONGBIRD,
    VIA_SD,
    WEB_CHALLENGER,
    paper,
    topics,
)


def test_trending_dial_moves_mentioned_paper_up() -> None:
    index = build_index([paper(1, EVOARENA), paper(2, WEB_CHALLENGER)])
    signals = {2: TrendSignal(sources=4, mentions=3, upvotes=118)}
    quiet = [p.paper.id for p in rank(topics("LLM agents", trending=0.0), index, signals, now=NOW)]
    loud = [p.paper.id for p in rank(topics("LLM agents", trending=0.6), index, signals, now=NOW)]
    plain = [p.paper.id for p in rank(topics("LLM agents", trending=0.0), index, {}, now=NOW)]
    assert quiet == plain == [1, 2]
    assert loud == [2, 1]


def test_no_signals_means_no_trending_and_relevance_order() -> None:
    index = build_index([paper(1, EVOARENA), paper(2, WEB_CHALLENGER), paper(3, SG_OPD)])
    picks = rank(topics("LLM agents"), index, {}, now=NOW)
    assert all(p.trending == 0.0 for p in picks)
    assert [p.paper.id for p in picks] == sorted(
        (p.paper.id for p in picks),
        key=lambda i: -next(q.relevance for q in picks if q.paper.id == i),
    )


def test_trending_alone_never_lets_irrelevant_paper_in() -> None:
    index = build_index([paper(1, VIA_SD), paper(2, SONGBIRD)])
    signals = {2: TrendSignal(sources=9, mentions=9, upvotes=900)}
    ids = [
        p.paper.id
        for p in rank(topics("speculative decoding", trending=0.9), index, signals, now=NOW)
    ]
    assert ids == [1]


def test_old_paper_trending_decays() -> None:
    fresh = paper(1, VIA_SD, published=NOW - dt.timedelta(days=1))
    stale = paper(2, VIA_SD, published=NOW - dt.timedelta(days=12))
    signal = TrendSignal(sources=3, upvotes=50)
    picks = rank(
        topics("speculative decoding"), build_index([fresh, stale]), {1: signal, 2: signal}, now=NOW
    )
    trend = {p.paper.id: p.trending for p in picks}
    assert trend[1] > 4 * trend[2] > 0


def pick(paper_id: int, score: float, topic: str | None) -> Pick:
    return Pick(
        paper=paper(paper_id, VIA_SD), score=score, relevance=score, trending=0.0, topic=topic
    )


def test_choose_for_digest_caps_dominant_topic_when_others_are_nearly_as_good() -> None:
    picks = [pick(i, 0.9 - i / 100, "agents") for i in range(1, 9)]
    picks += [pick(20, 0.8, "distillation"), pick(21, 0.75, "distillation")]
    shown, overflow = choose_for_digest(picks, 5)
    assert {p.paper.id for p in shown} == {1, 2, 3, 20, 21}
    assert [p.score for p in shown] == sorted((p.score for p in shown), reverse=True)
    assert overflow == [("agents", 5)]


def test_choose_for_digest_caps_strong_topic_at_its_share_while_another_has_picks() -> None:
    picks = [pick(i, 0.9 - i / 100, "agents") for i in range(1, 9)]
    picks += [pick(20, 0.5, "distillation"), pick(21, 0.4, "distillation")]
    shown, overflow = choose_for_digest(picks, 5)
    assert [p.paper.id for p in shown] == [1, 2, 3, 20, 21]
    assert overflow == [("agents", 5)]


def test_choose_for_digest_serves_every_topic_before_filling_by_score() -> None:
    picks = [pick(i, 0.9 - i / 100, "agents") for i in range(1, 9)]
    picks += [pick(20, 0.2, "distillation"), pick(30, 0.1, "fairness")]
    shown, _ = choose_for_digest(picks, 3)
    assert [p.paper.id for p in shown] == [1, 20, 30]


def test_choose_for_digest_with_fewer_slots_than_topics_serves_the_best_topics() -> None:
    picks = [pick(1, 0.9, None), pick(2, 0.8, "agents"), pick(3, 0.7, "agents")]
    picks += [pick(4, 0.3, "distillation"), pick(5, 0.2, "fairness")]
    shown, overflow = choose_for_digest(picks, 2)
    assert [p.paper.id for p in shown] == [2, 4]
    assert overflow == [("agents", 1), ("fairness", 1), ("other", 1)]


def test_choose_for_digest_without_other_topics_has_no_cap() -> None:
    picks = [pick(i, 1 - i / 100, "agents") for i in range(1, 13)]
    shown, overflow = choose_for_digest(picks, 10)
    assert [p.paper.id for p in shown] == list(range(1, 11))
    assert overflow == [("agents", 2)]


def test_topic_whose_papers_all_serve_a_stronger_topic_still_gets_one() -> None:
    index = build_index([paper(1, EVOARENA), paper(2, WEB_CHALLENGER), paper(4, VIA_SD)])
    profile = topics("agents", "web navigation", "speculative decoding")
    picks = rank(profile, index, {}, now=NOW)
    # WebChallenger matches "agents" best, but it is the only paper on web navigation.
    assert {p.paper.id: p.topic for p in picks} == {
        1: "agents",
        2: "web navigation",
        4: "speculative decoding",
    }
    shown, _ = choose_for_digest(picks, 3)
    assert {p.topic for p in shown} == {"agents", "web navigation", "speculative decoding"}


def test_trend_clock_is_the_end_of_the_digest_day_or_now_when_earlier() -> None:
    from digest.rank import trend_clock

    months_later = dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC)
    morning = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)
    assert trend_clock(dt.date(2026, 4, 30), months_later) == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert trend_clock(dt.date(2026, 4, 30), morning) == morning


def test_trend_reasons_say_what_earned_a_paper_its_trending() -> None:
    from digest.rank.select import trend_reasons

    hf = (("https://huggingface.co/papers/2604.25427", 123.0),)
    assert trend_reasons(TrendSignal(sources=1, mentions=1, upvotes=123, mention_sites=hf)) == (
        "Trending: 123 upvotes on Hugging Face",
    )
    hn = (("https://news.ycombinator.com/item?id=1", 45.0),)
    assert trend_reasons(TrendSignal(sources=2, mentions=1, mention_sites=hn)) == (
        "Trending: 1 mention (Hacker News 45 points)",
    )
    assert trend_reasons(TrendSignal(sources=2, cross_listed=True)) == ("Trending: in 2 sources",)


def test_other_picks_are_not_let_in_by_the_cap_nor_served_first() -> None:
    # Two topics, ten slots: a cap of four each would leave two slots; weak "other" picks (a
    # click's faint neighbours) must not take them from the topics' stronger papers.
    picks = [pick(i, 0.9 - i / 100, "metamorphic testing") for i in range(1, 8)]
    picks += [pick(i, 0.6 - i / 100, "testing ML models") for i in range(10, 15)]
    picks += [pick(30, 0.05, None), pick(31, 0.04, None)]
    shown, overflow = choose_for_digest(picks, 10)
    assert {30, 31}.isdisjoint(p.paper.id for p in shown)
    assert ("other", 2) in overflow
    # An "other" pick that scores well still gets in, by its score.
    shown, _ = choose_for_digest([*picks, pick(32, 0.95, None)], 10)
    assert shown[0].paper.id == 32
