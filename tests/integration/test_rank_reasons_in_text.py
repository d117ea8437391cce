"""Reasons that are true, checked against the paper text for every pick over the sample feeds.

"matched: T" needs every word of T in the paper (as a stem, or as the acronym a paper defined
for it); a topic with only some of its words is "partly on your topic T"; the reasons of a
pick name the topic whose section it is in, first.
"""

from __future__ import annotations

from digest import pipeline
from digest.models import Paper, Pick
from digest.rank.text import find_acronyms, stems
from digest.service import Service
from digest.store import subscribers
from tests.integration.test_pipeline import DAY, NOW, add_subscriber, ingest_samples

TOPICS = (
    "machine translation",
    "reinforcement learning",
    "language models",
    "agents",
    "diffusion",
    "speculative decoding",
    "video generation",
)


def _all_picks(service: Service) -> list[Pick]:
    ingest_samples(service)
    add_subscriber(service, "reasons@example.com", *TOPICS)
    with service.db.session() as session:
        subscriber = subscribers.to_subscriber(subscribers.get_row(session, "reasons@example.com"))
    context = pipeline.ranking_context(service, DAY)
    _, picks = pipeline.digest_for(service, context, subscriber, now=NOW)
    return picks


def _words(paper: Paper) -> set[str]:
    return set(stems(f"{paper.title} {paper.abstract}"))


def _named(reasons: tuple[str, ...], prefix: str) -> list[str]:
    return [t for r in reasons if r.startswith(prefix) for t in r[len(prefix) :].split(", ")]


def test_every_matched_topic_has_all_its_words_in_the_paper(service: Service) -> None:
    picks = _all_picks(service)
    defined = {
        long: short
        for pick in picks
        for short, long in find_acronyms(f"{pick.paper.title} {pick.paper.abstract}")
    }
    checked = 0
    for pick in picks:
        words = _words(pick.paper)
        for topic in _named(pick.reasons, "matched: "):
            wanted = tuple(stems(topic))
            assert set(wanted) <= words or defined.get(wanted) in words, (topic, pick.paper.title)
            checked += 1
    assert checked > 30


def test_a_topic_with_only_some_words_in_the_paper_is_only_partly_matched(
    service: Service,
) -> None:
    picks = _all_picks(service)
    partly = [
        (topic, pick)
        for pick in picks
        for topic in _named(pick.reasons, "partly on your topic ")
        + _named(pick.reasons, "partly on your topics ")
    ]
    assert any(topic == "machine translation" for topic, _ in partly)
    for topic, pick in partly:
        wanted = set(stems(topic))
        assert wanted & _words(pick.paper) and not wanted <= _words(pick.paper)
    # "learning" alone never makes a paper "matched: reinforcement learning"
    only_learning = [
        p for p in picks if "learn" in _words(p.paper) and "reinforc" not in _words(p.paper)
    ]
    assert only_learning
    assert not any(
        "reinforcement learning" in _named(p.reasons, "matched: ") for p in only_learning
    )


def test_the_reasons_name_the_topic_the_pick_serves_first(service: Service) -> None:
    for pick in _all_picks(service):
        if pick.topic is not None:
            assert pick.topic in pick.reasons[0].split(": ", 1)[-1].replace(
                "partly on your topic ", ""
            )
