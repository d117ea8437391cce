"""The "more / less like this" pages behind each paper of a digest (the archive is archive.py)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.store import feedback, papers
from digest.web.pages import (
    LinkRejected,
    csrf_failed,
    csrf_ok,
    error_page,
    page,
    rate_limited,
    read_form,
    subscriber_ref,
    verify_link,
    web,
)

log = logging.getLogger(__name__)

LABELS = {"more": "More like this", "less": "Less like this"}


async def record_feedback(request: Request) -> Response:
    """GET asks (link scanners must not vote); POST records the click.

    The token names the subscriber; the paper and the direction are in the path
    (``/feedback/TOKEN/PAPER/more``), so one token serves every link of an email. Links sent
    before that carry both in the token (``/feedback/TOKEN``) and keep working.
    """
    token = request.path_params["token"]
    claims, subscriber = verify_link(request, "feedback", token)
    if "paper_id" in request.path_params:
        paper_id, direction = request.path_params["paper_id"], request.path_params["direction"]
    else:
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
    if limited := rate_limited(request, "feedback"):
        return limited
    with ctx.service.db.session() as session:
        feedback.record_feedback(session, subscriber.id, paper_id, direction, now=ctx.clock())
    log.info("%s said %s about paper %d", subscriber_ref(subscriber), direction, paper_id)
    return page(request, "feedback.html", token=token, done=True, **context)


routes = [
    Route("/feedback/{token}", record_feedback, methods=["GET", "HEAD", "POST"]),
    Route(
        "/feedback/{token}/{paper_id:int}/{direction}",
        record_feedback,
        methods=["GET", "HEAD", "POST"],
    ),
]
