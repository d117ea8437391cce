"""Pages behind the links in each digest: "more / less like this" and the digest archive."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.render import excerpt, safe_url, shorten_authors
from digest.store import archive, feedback, papers
from digest.web.pages import (
    LinkRejected,
    csrf_failed,
    csrf_ok,
    error_page,
    page,
    read_form,
    subscriber_ref,
    verify_link,
    web,
)

log = logging.getLogger(__name__)

LABELS = {"more": "More like this", "less": "Less like this"}


async def record_feedback(request: Request) -> Response:
    """GET asks (link scanners must not vote); POST records the click."""
    token = request.path_params["token"]
    claims, subscriber = verify_link(request, "feedback", token)
    paper_id, direction = claims.extra.get("p"), claims.extra.get("d")
    if not isinstance(paper_id, int) or direction not in LABELS:
        raise LinkRejected("this link is not valid")
    ctx = web(request)
    with ctx.service.db.session() as session:
        paper = papers.papers_by_ids(session, [paper_id]).get(paper_id)
    if paper is None:
        return error_page(request, 404, "Paper not found", "That paper is no longer stored.")
    links = ctx.service.links.for_subscriber(subscriber)
    context = {"paper": paper, "label": LABELS[direction], "direction": direction, "links": links}
    if request.method != "POST":
        return page(request, "feedback.html", token=token, done=False, **context)
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_failed(request)
    with ctx.service.db.session() as session:
        feedback.record_feedback(session, subscriber.id, paper_id, direction, now=ctx.clock())
    log.info("%s said %s about paper %d", subscriber_ref(subscriber), direction, paper_id)
    return page(request, "feedback.html", token=token, done=True, **context)


async def show_archive(request: Request) -> Response:
    """The list of past digests, or one of them as it was sent."""
    token = request.path_params["token"]
    _, subscriber = verify_link(request, "archive", token)
    ctx = web(request)
    raw_date = request.path_params.get("date")
    day = None
    if raw_date is not None:
        try:
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            return error_page(request, 404, "No such date", "That is not a date we know.")
    with ctx.service.db.session() as session:
        dates = archive.digest_dates(session, subscriber.id)
        picks = archive.archived_digest(session, subscriber.id, day) if day else None
    if day is not None and picks is None:
        return error_page(
            request, 404, "No digest that day", "We did not send you a digest for that date."
        )
    items = [
        {
            "title": " ".join(p.paper.title.split()),
            "url": safe_url(p.paper.url),
            "pdf_url": safe_url(p.paper.pdf_url),
            "authors": shorten_authors(p.paper.authors),
            "excerpt": excerpt(p.paper.abstract),
            "topic": p.topic,
            "reasons": " · ".join(p.reasons),
        }
        for p in picks or []
    ]
    links = ctx.service.links.for_subscriber(subscriber)
    return page(
        request, "archive.html", token=token, day=day, dates=dates, items=items, links=links
    )


routes = [
    Route("/feedback/{token}", record_feedback, methods=["GET", "HEAD", "POST"]),
    Route("/archive/{token}", show_archive, methods=["GET", "HEAD"]),
    Route("/archive/{token}/{date}", show_archive, methods=["GET", "HEAD"]),
]
