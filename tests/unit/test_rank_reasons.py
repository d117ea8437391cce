"""What a pick's reasons may claim: "matched: T" only with all of T's words (or its learnt
acronym) in the paper; fewer words are "partly on your topic T"; the served topic first."""

from __future__ import annotations

from digest.rank import build_index, rank
from digest.rank.reasons import TopicMatch, topic_reasons
from digest.rank.text import stems
from tests.unit.test_rank import NOW, SG_OPD, STEP_AUDIO, TRANSLATING, paper, topics
from tests.unit.test_rank_selfcheck import _papers


def test_a_paper_without_one_of_the_topic_words_is_only_partly_on_it() -> None:
    index = build_index([paper(1, TRANSLATING), paper(2, SG_OPD)])
    (pick,) = rank(topics("machine translation"), index, {}, now=NOW)
    assert pick.paper.id == 1  # says "translation", never "machine"
    assert pick.reasons == ("partly on your topic machine translation",)


def test_learning_alone_is_not_reinforcement_learning() -> None:
    papers = _papers()
    picks = rank(topics("reinforcement learning"), build_index(papers), {}, now=NOW)
    for pick in picks:
        words = set(stems(f"{pick.paper.title} {pick.paper.abstract}"))
        claimed = "matched: reinforcement learning" in pick.reasons
        assert claimed == ({"reinforc", "learn"} <= words or "rl" in words), pick.paper.title
    assert any("partly on your topic reinforcement learning" in p.reasons for p in picks)


def test_a_learnt_acronym_counts_as_the_topic_words() -> None:
    index = build_index([paper(1, STEP_AUDIO), paper(2, SG_OPD)])
    picks = rank(topics("reinforcement learning from human feedback", "RLHF"), index, {}, now=NOW)
    assert picks[0].paper.id == 1
    assert picks[0].reasons[0].startswith("matched: ")
    assert set(picks[0].reasons[0].removeprefix("matched: ").split(", ")) == {
        "RLHF",
        "reinforcement learning from human feedback",
    }


def test_the_served_topic_is_named_first_even_when_weaker() -> None:
    matches = [TopicMatch("agents", 0.6, True), TopicMatch("web navigation", 0.2, False)]
    assert topic_reasons("web navigation", matches) == [
        "partly on your topic web navigation",
        "matched: agents",
    ]
    assert topic_reasons("agents", matches) == [
        "matched: agents",
        "partly on your topic web navigation",
    ]


def test_a_topic_that_did_not_count_is_not_named() -> None:
    matches = [TopicMatch("agents", 0.6, True), TopicMatch("diffusion", 0.05, True)]
    assert topic_reasons("agents", matches) == ["matched: agents"]
