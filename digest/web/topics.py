"""Browse by topic: today's themes as suggestions, and one topic's papers, ranked.

A topic page ranks the stored papers of the last weeks for a profile holding just that topic,
with :func:`digest.pipeline.ranking_context` and :func:`digest.rank.rank`: the ranking a
subscriber with that one topic would get in their email, not a second one. Its subscribe box
comes filled with the topic, so subscribing to what you browsed takes one address. Both pages
are cached per topic and date and limited per client (:mod:`digest.web.ranked`).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from digest import rank
from digest.models import Profile, Topic
from digest.store import papers
from digest.web.home import SHOWN, PaperCard, paper_card
from digest.web.pages import page, web
from digest.web.ranked import ranked, ranking_context
from digest.web.themes import suggest_themes

TOPIC_MAX_CHARS = 80
TOPIC_WINDOW_DAYS = 14
TOPIC_TRENDING = 0.2  # the default dial: mostly the topic, a little of what is talked about


def clean_topic(text: str) -> str:
    return " ".join(text.split())[:TOPIC_MAX_CHARS]


def topic_url(topic: str) -> str:
    return "/topics/" + quote(topic, safe="")


def topic_cards(request: Request, topic: str, day: dt.date) -> list[PaperCard]:
    """The stored papers of the weeks up to ``day``, ranked for a profile of just ``topic``."""
    ctx = web(request)
    context = ranking_context(request, day, TOPIC_WINDOW_DAYS)
    profile = Profile(topics=(Topic(topic),), trending=TOPIC_TRENDING)
    as_of = rank.trend_clock(day, ctx.clock())
    picks = rank.rank(profile, context.index, context.signals, now=as_of)
    relevant = [p for p in picks if p.relevance > 0]
    return [
        paper_card(p.paper, context.signals.get(p.paper.id), reasons=p.reasons)
        for p in relevant[:SHOWN]
    ]


def topic_page(request: Request) -> Response:
    ctx = web(request)
    topic = clean_topic(request.path_params["topic"])
    if not topic:
        return RedirectResponse("/topics", status_code=303)
    with ctx.service.db.session() as session:
        day = papers.newest_announcement(session)
    cards: list[PaperCard] | Response = []
    if day:
        cards = ranked(request, ("topic", topic, day), partial(topic_cards, request, topic, day))
    if isinstance(cards, Response):
        return cards
    return page(
        request,
        "topic.html",
        topic=topic,
        cards=cards,
        day=day,
        window_days=TOPIC_WINDOW_DAYS,
        subscribe_topics=topic,
    )


def topic_index(request: Request) -> Response:
    """``/topics?topic=x`` (the browse form, which works without JavaScript) goes to its page;
    a bare ``/topics`` lists today's themes."""
    asked = clean_topic(request.query_params.get("topic", ""))
    if asked:
        return RedirectResponse(topic_url(asked), status_code=303)
    ctx = web(request)
    with ctx.service.db.session() as session:
        day = papers.newest_announcement(session)
    themes: list[str] | Response = []
    if day:
        themes = ranked(request, ("themes", day), partial(_themes, request, day))
    if isinstance(themes, Response):
        return themes
    return page(request, "topics.html", themes=themes, day=day)


def _themes(request: Request, day: dt.date) -> list[str]:
    service = web(request).service
    with service.db.session() as session:
        candidates = papers.papers_in_window(session, day, service.settings.window_days)
    return suggest_themes(candidates, limit=24)


routes = [
    Route("/topics", topic_index, methods=["GET", "HEAD"]),
    Route("/topics/{topic:path}", topic_page, methods=["GET", "HEAD"]),
]
