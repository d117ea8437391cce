"""Browse by topic: today's themes as suggestions, and a topic's papers from the digest's ranker."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

from starlette.testclient import TestClient

from digest import pipeline, rank
from digest.models import Paper, Profile, Topic
from digest.service import Service
from digest.store import papers
from digest.web.themes import suggest_themes
from digest.web.topics import TOPIC_WINDOW_DAYS
from tests.unit.web_support import NOW, client, service

__all__ = ["client", "service"]

TITLES = re.compile(r'<h3 class="paper-title">(?:<a[^>]*>)?(.*?)<', re.S)


def paper(pid: int, title: str, abstract: str = "") -> Paper:
    return Paper(id=pid, key=f"k{pid}", title=title, abstract=abstract)


def test_themes_are_phrases_shared_by_several_papers() -> None:
    found = suggest_themes(
        [
            paper(1, "Diffusion models for video", "We propose a new method."),
            paper(2, "Faster diffusion models", "Reward models help."),
            paper(3, "On reward models", "Nothing else in common."),
            paper(4, "A single paper about graph kernels"),
        ]
    )
    assert found == ["diffusion models", "reward models"]


def test_a_phrase_repeated_in_one_paper_is_not_a_theme() -> None:
    assert suggest_themes([paper(1, "Graph kernels", "graph kernels, graph kernels")]) == []


def test_the_home_page_suggests_todays_themes_as_topic_links(client: TestClient) -> None:
    html = client.get("/").text
    start = html.index('class="subscribe-form"')
    box = html[start : html.index("</form>", start)]
    links = re.findall(r'<a href="/topics/([^"]+)">', box)
    assert len(links) >= 3


def test_a_topic_page_lists_the_rankers_picks_for_that_topic(
    service: Service, client: TestClient
) -> None:
    html = client.get("/topics/reinforcement%20learning").text
    shown = [" ".join(html_lib.unescape(t).split()) for t in TITLES.findall(html)]
    with service.db.session() as session:
        day = papers.newest_announcement(session)
    assert day is not None
    context = pipeline.ranking_context(service, day, TOPIC_WINDOW_DAYS)
    profile = Profile(topics=(Topic("reinforcement learning"),))
    as_of = min(NOW, papers.day_start(day) + dt.timedelta(days=1))
    picks = rank.rank(profile, context.index, context.signals, now=as_of)
    expected = [" ".join(p.paper.title.split()) for p in picks if p.relevance > 0]
    assert shown and shown == expected[: len(shown)]
    assert "matched: reinforcement learning" in html


def test_a_topic_pages_subscribe_box_is_filled_with_the_topic(client: TestClient) -> None:
    html = client.get("/topics/diffusion%20models").text
    assert re.search(r'<textarea id="subscribe-topics" name="topics"[^>]*>diffusion models<', html)


def test_the_browse_form_goes_to_the_topic_page(client: TestClient) -> None:
    response = client.get("/topics", params={"topic": "  LLM   agents "}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/topics/LLM%20agents"


def test_a_topic_is_escaped_on_its_page(client: TestClient) -> None:
    html = client.get("/topics/%3Cscript%3Ealert(1)%3C%2Fscript%3E").text
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_topic_nothing_matches_says_so(client: TestClient) -> None:
    html = client.get("/topics/zzqxnotaword").text
    assert "No stored paper matches this topic yet." in html


def test_themes_are_noun_phrases_and_a_plural_is_the_same_theme() -> None:
    found = suggest_themes(
        [
            paper(1, "Small language models", "Our method achieves superior accuracy."),
            paper(2, "A language model for proofs", "It achieves superior recall."),
            paper(3, "Language models as judges", "Results achieves superior gains."),
            paper(4, "Efficiently pruned graphs", "Efficiently pruned networks."),
        ]
    )
    assert found == ["language models"]  # written so twice, "language model" once


def test_unknown_words_such_as_acronyms_can_make_a_theme() -> None:
    papers_ = [paper(n, f"Multimodal LLMs, part {n}") for n in (1, 2)]
    assert suggest_themes(papers_) == ["multimodal llms"]
