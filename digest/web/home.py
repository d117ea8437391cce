"""The public pages: trending papers with the subscribe box, search, browse by date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest import rank
from digest.models import Paper, TrendSignal
from digest.render.latex import readable
from digest.render.text import excerpt, safe_url, shorten_authors
from digest.render.trend_words import trend_phrase
from digest.store import archive, papers
from digest.web.pages import page, web
from digest.web.ranked import ranked
from digest.web.themes import suggest_themes

SHOWN = 30
SEARCH_MAX_CHARS = 200


@dataclass(frozen=True)
class PaperCard:
    """One paper as the home page lists it: strings ready to print, unsafe URLs dropped."""

    title: str
    url: str | None
    authors: str
    categories: str
    excerpt: str
    why: str
    pdf_url: str | None
    code_url: str | None
    day: dt.date | None
    badge: str = "Trending"


def paper_card(paper: Paper, signal: TrendSignal | None, reasons: Sequence[str] = ()) -> PaperCard:
    """The card; ``reasons`` (the ranker's, on a topic page) replace the trending note."""
    return PaperCard(
        title=readable(" ".join(paper.title.split())),
        url=safe_url(paper.url),
        authors=shorten_authors(paper.authors, shown=4),
        categories=", ".join(paper.categories[:4]),
        excerpt=readable(paper.tldr)
        if paper.tldr
        else excerpt(readable(paper.abstract), limit=320, sentences=2),
        why=" · ".join(reasons) if reasons else trend_phrase(signal),
        pdf_url=safe_url(paper.pdf_url),
        code_url=safe_url(paper.code_url),
        day=paper.published.date() if paper.published else None,
        badge="Why" if reasons else "Trending",
    )


EARLIEST_DAY = dt.date(1990, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)  # far from date.max: the window's arithmetic stays in range


def _parse_day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


@dataclass(frozen=True)
class Trending:
    """A date's trending cards and today's themes, as the home page shows them."""

    cards: list[PaperCard]
    themes: list[str]


def _trending(request: Request, day: dt.date) -> Trending:
    """The window's papers as cards, most talked-about first (scored as the digest scores
    trending), and the themes the candidates share."""
    ctx = web(request)
    window = ctx.service.settings.window_days
    with ctx.service.db.session() as session:
        candidates = papers.papers_in_window(session, day, window)
        signals = papers.trend_signals(session, [p.id for p in candidates])
    as_of = rank.trend_clock(day, ctx.clock())
    scored = sorted(
        candidates,
        key=lambda p: (-rank.trending_score(signals.get(p.id), p, as_of), -p.id),
    )
    cards = [paper_card(p, signals.get(p.id)) for p in scored[:SHOWN]]
    return Trending(cards, suggest_themes(candidates))


def _search_query(request: Request) -> str:
    """``?q=``, capped, without control characters (PostgreSQL refuses a NUL in text)."""
    text = request.query_params.get("q", "")[: SEARCH_MAX_CHARS * 2]
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()[:SEARCH_MAX_CHARS]


def _search_page(request: Request, query: str) -> Response:
    with web(request).service.db.session() as session:
        newest = papers.newest_announcement(session)
        found = archive.search_papers(session, query, limit=SHOWN)
        signals = papers.trend_signals(session, [p.id for p in found])
    return page(
        request,
        "home.html",
        mode="search",
        query=query,
        cards=[paper_card(p, signals.get(p.id)) for p in found],
        day=None,
        newest=newest,
        previous_day=None,
        next_day=None,
        bad_date=False,
        themes=[],
    )


def home(request: Request) -> Response:
    ctx = web(request)
    query = _search_query(request)
    if query:
        return _search_page(request, query)
    asked_day = _parse_day(request.query_params.get("date"))
    with ctx.service.db.session() as session:
        newest = papers.newest_announcement(session)
    day = asked_day or newest
    trending: Trending | Response = Trending([], [])
    if day:
        trending = ranked(request, ("trending", day), partial(_trending, request, day))
    if isinstance(trending, Response):
        return trending
    previous_day = day - dt.timedelta(days=1) if day else None
    next_day = day + dt.timedelta(days=1) if day and newest and day < newest else None
    return page(
        request,
        "home.html",
        mode="trending",
        query="",
        cards=trending.cards,
        day=day,
        newest=newest,
        previous_day=previous_day,
        next_day=next_day,
        bad_date=bool(request.query_params.get("date")) and asked_day is None,
        themes=trending.themes,
    )


async def stylesheet(request: Request) -> Response:
    return Response(
        request.app.state.css,
        media_type="text/css",
        headers={"cache-control": "public, max-age=86400"},
    )


async def timezone_script(request: Request) -> Response:
    """The one script: it fills the sign-up form's time zone in; every form works without it."""
    return Response(
        request.app.state.timezone_js,
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=86400"},
    )


routes = [
    Route("/", home, methods=["GET", "HEAD"]),
    Route("/static/style.css", stylesheet, methods=["GET", "HEAD"]),
    Route("/static/timezone.js", timezone_script, methods=["GET", "HEAD"]),
]
