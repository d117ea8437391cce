"""The manage page behind a signed link: edit the profile, preview the next digest, export,
replace the feed link, delete.

The preview is :func:`digest.pipeline.digest_for`, the ranking the email (and `digest preview`)
uses, over the window's analysis shared with the other ranking pages (:mod:`digest.web.ranked`).
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from digest import pipeline
from digest.models import Digest, Subscriber
from digest.profiles import WEEKDAYS
from digest.render.views import group_picks
from digest.store import archive, feedback, papers, subscribers
from digest.web.archive import feed_url_for
from digest.web.forms import FormError, parse_manage_form, topic_lines
from digest.web.mail import send_in_background
from digest.web.pages import SignedLink, form_post, page, subscriber_ref, verify_link, web
from digest.web.ranked import personal, ranking_context

log = logging.getLogger(__name__)


FIELD_LABELS = {
    "topics": "Topics",
    "exclude": "Leave out papers mainly about",
    "categories": "arXiv categories to favour",
    "exclude_categories": "arXiv categories to leave out",
    "authors": "Authors to follow",
    "per_digest": "Papers per digest",
    "min_score": "Minimum score",
    "trending": "Trending dial",
    "quiet_days": "Days with nothing for you",
    "frequency": "Frequency",
    "weekday": "Day for weekly digests",
    "send_hour": "Send around",
    "timezone": "Time zone",
    "paused_until": "Pause until",
}


def form_values(subscriber: Subscriber, paused_until: dt.date | None) -> dict[str, Any]:
    """What the form shows for a stored subscriber (the same keys the form posts)."""
    profile = subscriber.profile
    return {
        "topics": topic_lines(profile.topics),
        "exclude": "\n".join(profile.exclude),
        "categories": "\n".join(profile.categories),
        "exclude_categories": "\n".join(profile.exclude_categories),
        "authors": "\n".join(profile.authors),
        "per_digest": str(profile.per_digest),
        "min_score": f"{profile.min_score:g}",
        "trending": f"{profile.trending:g}",
        "quiet_days": profile.quiet_days,
        "timezone": subscriber.timezone,
        "send_hour": str(subscriber.send_hour),
        "frequency": subscriber.frequency,
        "weekday": WEEKDAYS[subscriber.weekday % 7],
        "paused_until": paused_until.isoformat() if paused_until else "",
    }


def _preview(request: Request, subscriber: Subscriber) -> tuple[Digest, dt.date]:
    ctx = web(request)
    now = ctx.clock()
    with ctx.service.db.session() as session:
        day = papers.newest_announcement(session) or now.date()
    context = ranking_context(request, day, ctx.service.settings.window_days)
    digest, _ = pipeline.digest_for(ctx.service, context, subscriber, now=now)
    return digest, day


def _manage_page(
    request: Request,
    token: str,
    subscriber: Subscriber,
    values: dict[str, Any],
    *,
    error: FormError | None = None,
    saved: bool = False,
) -> Response:
    service = web(request).service
    feed_url = feed_url_for(request, subscriber)
    links = service.links.for_subscriber(subscriber)
    previewed = personal(request, partial(_preview, request, subscriber))
    if isinstance(previewed, Response):
        return previewed
    digest, day = previewed
    return page(
        request,
        "manage.html",
        status_code=400 if error else 200,
        token=token,
        subscriber=subscriber,
        values=values,
        error=error,
        field_labels=FIELD_LABELS,
        saved=saved,
        new_feed=request.query_params.get("feed") == "new",
        links=links,
        feed_url=feed_url,
        preview_day=day,
        preview_groups=group_picks(digest, links),
        preview_count=len(digest.picks),
        weekdays=WEEKDAYS,
    )


def show_manage(request: Request) -> Response:
    link = verify_link(request, "manage")
    with web(request).service.db.session() as session:
        paused = subscribers.get_row(session, link.subscriber.email).paused_until
    values = form_values(link.subscriber, paused)
    saved = request.query_params.get("saved") == "1"
    return _manage_page(request, link.token, link.subscriber, values, saved=saved)


def _save_manage(request: Request, link: SignedLink, form: FormData) -> Response:
    ctx = web(request)
    token, subscriber, now = link.token, link.subscriber, ctx.clock()
    try:
        changes = parse_manage_form(form, today=now.date())
    except FormError as exc:
        values = {key: form.get(key, "") for key in form_values(subscriber, None)}
        return _manage_page(request, token, subscriber, values, error=exc)
    with ctx.service.db.session() as session:
        row = subscribers.get_row(session, subscriber.email)
        before = subscribers.subscriber_json(row)
        row, _ = subscribers.upsert_subscriber(
            session,
            subscriber.email,
            now=now,
            profile_changes=changes.profile,
            schedule=changes.schedule,
        )
        changed = subscribers.subscriber_json(row) != before
        updated = subscribers.to_subscriber(row)
    task = None
    if changed:
        log.info("%s changed their profile on the web", subscriber_ref(subscriber))
        task = _preferences_changed_email(request, updated)
    return RedirectResponse(f"/manage/{token}?saved=1", status_code=303, background=task)


def _preferences_changed_email(request: Request, subscriber: Subscriber) -> BackgroundTask | None:
    """A note to the address that its settings changed, so a forwarded manage link that someone
    else used does not go unnoticed. Only confirmed subscribers get mail from us."""
    if subscriber.state != "confirmed":
        return None
    ctx = web(request)
    links = ctx.service.links.for_subscriber(subscriber)
    rendered = ctx.service.renderer.render_preferences_changed(subscriber, links)
    return send_in_background(
        ctx.service, rendered, subscriber, kind="preferences-changed", now=ctx.clock()
    )


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
    Route("/manage/{token}", show_manage, methods=["GET", "HEAD"]),
    Route("/manage/{token}", form_post("manage", _manage_link, _save_manage), methods=["POST"]),
    Route("/manage/{token}/export.json", export, methods=["GET"]),
    Route(
        "/manage/{token}/feed", form_post("manage", _manage_link, _new_feed_link), methods=["POST"]
    ),
    Route("/manage/{token}/delete", ask_delete, methods=["GET", "HEAD"]),
    Route("/manage/{token}/delete", form_post("delete", _manage_link, _delete), methods=["POST"]),
]
