"""The "more / less like this" pages behind each paper of a digest (the archive is archive.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.models import Paper
from digest.pipeline.embed_job import embedder_of
from digest.store import feedback, papers
from digest.web.pages import (
    LinkRejected,
    SignedLink,
    error_page,
    form_post,
    page,
    subscriber_ref,
    verify_link,
    web,
)

log = logging.getLogger(__name__)

LABELS = {"more": "More like this", "less": "Less like this"}
MAX_PAPER_ID = 2**31 - 1  # the papers.id column is a 32-bit integer on PostgreSQL


@dataclass(frozen=True)
class Vote:
    """What a feedback link asks about: who, which paper, which way."""

    link: SignedLink
    paper: Paper
    direction: str

    def page_context(self, request: Request) -> dict[str, Any]:
        links = web(request).service.links.for_subscriber(self.link.subscriber)
        return {
            "token": self.link.token,
            "paper": self.paper,
            "label": LABELS[self.direction],
            "direction": self.direction,
            "links": links,
        }


def _vote(request: Request) -> Vote | Response:
    """The vote a feedback link names, or the page saying its paper is gone.

    The token names the subscriber; the paper and the direction are in the path
    (``/feedback/TOKEN/PAPER/more``), so one token serves every link of an email. Links sent
    before that carry both in the token (``/feedback/TOKEN``) and keep working.
    """
    link = verify_link(request, "feedback")
    if "paper_id" in request.path_params:
        paper_id, direction = request.path_params["paper_id"], request.path_params["direction"]
    else:
        paper_id, direction = link.claims.extra.get("p"), link.claims.extra.get("d")
    if not isinstance(paper_id, int) or direction not in LABELS:
        raise LinkRejected("this link is not valid")
    if not 0 < paper_id <= MAX_PAPER_ID:  # no such paper, and the database would refuse it
        return error_page(request, 404, "Paper not found", "That paper is no longer stored.")
    with web(request).service.db.session() as session:
        paper = papers.papers_by_ids(session, [paper_id]).get(paper_id)
    if paper is None:
        return error_page(request, 404, "Paper not found", "That paper is no longer stored.")
    return Vote(link, paper, direction)


def ask_feedback(request: Request) -> Response:
    """GET only asks: link scanners must not vote."""
    vote = _vote(request)
    if isinstance(vote, Response):
        return vote
    return page(request, "feedback.html", done=False, **vote.page_context(request))


def _record_feedback(request: Request, vote: Vote, form: FormData) -> Response:
    ctx = web(request)
    subscriber, paper_id = vote.link.subscriber, vote.paper.id
    embedder = embedder_of(ctx.service)
    with ctx.service.db.session() as session:
        feedback.record_feedback(
            session, subscriber.id, paper_id, vote.direction, now=ctx.clock(), embedder=embedder
        )
    log.info("%s said %s about paper %d", subscriber_ref(subscriber), vote.direction, paper_id)
    return page(request, "feedback.html", done=True, **vote.page_context(request))


record_feedback = form_post("feedback", _vote, _record_feedback)

routes = [
    Route("/feedback/{token}", ask_feedback, methods=["GET", "HEAD"]),
    Route("/feedback/{token}", record_feedback, methods=["POST"]),
    Route("/feedback/{token}/{paper_id:int}/{direction}", ask_feedback, methods=["GET", "HEAD"]),
    Route("/feedback/{token}/{paper_id:int}/{direction}", record_feedback, methods=["POST"]),
]
