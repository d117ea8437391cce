"""The manage page's "Your data" actions: export everything, replace the feed link, delete.

They sit behind the same signed ``manage`` link as the page itself.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.store import archive, feedback, subscribers
from digest.web.pages import SignedLink, form_post, page, subscriber_ref, verify_link, web

log = logging.getLogger(__name__)


def export(request: Request) -> Response:
    """Everything stored about the subscriber, as a JSON download: the profile, feedback, and
    every delivery (sent or not) with the papers it carried and why they were picked."""
    subscriber = verify_link(request, "manage").subscriber
    with web(request).service.db.session() as session:
        data = subscribers.subscriber_json(subscribers.get_row(session, subscriber.email))
        data["feedback"] = [
            {"paper_id": paper_id, "direction": direction}
            for paper_id, direction in sorted(feedback.feedback_for(session, subscriber.id).items())
        ]
        history = archive.delivery_history(session, subscriber.id)
    data["deliveries"] = [delivery_json(record) for record in history]
    return JSONResponse(
        data,
        headers={"content-disposition": 'attachment; filename="my-digest-data.json"'},
    )


def delivery_json(record: archive.DeliveryRecord) -> dict[str, Any]:
    return {
        "date": record.date.isoformat(),
        "kind": record.kind,
        "state": record.state,
        "attempts": record.attempts,
        "last_code": record.last_code,
        "last_message": record.last_message,
        "created_at": record.created_at.isoformat(),
        "sent_at": record.sent_at.isoformat() if record.sent_at else None,
        "themes": list(record.themes),
        "picks": [
            {
                "position": pick.position,
                "paper_id": pick.paper.id,
                "title": pick.paper.title,
                "url": pick.paper.url,
                "topic": pick.topic,
                "score": pick.score,
                "reasons": list(pick.reasons),
            }
            for pick in record.picks
        ],
    }


def _new_feed_link(request: Request, link: SignedLink, form: FormData) -> Response:
    """Ends every feed link so far (a leaked one, say); the manage page shows the new one."""
    ctx = web(request)
    with ctx.service.db.session() as session:
        subscribers.new_feed_generation(session, link.subscriber.id, now=ctx.clock())
    log.info("%s made a new feed link", subscriber_ref(link.subscriber))
    return RedirectResponse(f"/manage/{link.token}?feed=new#your-data", status_code=303)


def ask_delete(request: Request) -> Response:
    """Asks once more before the POST deletes everything."""
    return page(request, "delete.html", token=verify_link(request, "manage").token)


def _delete(request: Request, link: SignedLink, form: FormData) -> Response:
    """Deletes the subscriber and all their data but a suppression hash."""
    ctx = web(request)
    with ctx.service.db.session() as session:
        subscribers.remove_subscriber(session, link.subscriber.email, now=ctx.clock())
    log.info("%s deleted their data", subscriber_ref(link.subscriber))
    return page(request, "deleted.html")


_manage_link = partial(verify_link, purpose="manage")

routes = [
    Route("/manage/{token}/export.json", export, methods=["GET"]),
    Route(
        "/manage/{token}/feed", form_post("manage", _manage_link, _new_feed_link), methods=["POST"]
    ),
    Route("/manage/{token}/delete", ask_delete, methods=["GET", "HEAD"]),
    Route("/manage/{token}/delete", form_post("delete", _manage_link, _delete), methods=["POST"]),
]
