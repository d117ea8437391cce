"""The manage page behind a signed link: edit the profile, add a BibTeX library, preview the
next digest (or, once unsubscribed, a way back), export, replace the feed link, delete.

The preview is :func:`digest.pipeline.digest_for`, the ranking the email (and `digest preview`)
uses, over the window's analysis shared with the other ranking pages (:mod:`digest.web.ranked`).
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from digest import pipeline
from digest.errors import DigestError
from digest.ingest.bibtex import decode_library, merge_library, read_library
from digest.models import Digest, Subscriber
from digest.profiles import WEEKDAYS
from digest.render.views import group_picks
from digest.store import papers, subscribers
from digest.web.archive import feed_url_for
from digest.web.clients import network_of
from digest.web.forms import FormError, parse_manage_form, topic_lines
from digest.web.mail import send_in_background
from digest.web.pages import (
    SignedLink,
    client_ip,
    form_post,
    page,
    subscriber_ref,
    too_many_requests,
    verify_link,
    web,
)
from digest.web.ranked import personal, ranking_context
from digest.web.subscribe import prepare_signup_email

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
    "library": "BibTeX library",
}
MAX_LIBRARY_BYTES = 4 * 1024 * 1024  # a Zotero export of a few thousand entries


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
    digest, day = Digest(subscriber, dt.date.min, ()), dt.date.min
    if subscriber.state != "unsubscribed":  # a preview of mail that will not come misleads
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
        library_added=_library_notice(request),
    )


def _library_notice(request: Request) -> tuple[int, int, int] | None:
    """(entries, new seeds, title topics) of the upload the redirect reports, if any."""
    parts = request.query_params.get("library", "").split(".")
    if len(parts) != 3 or not all(p.isdigit() and len(p) < 7 for p in parts):
        return None
    entries, seeds, titles = (int(p) for p in parts)
    return entries, seeds, titles


def _stored_values(request: Request, subscriber: Subscriber) -> dict[str, Any]:
    with web(request).service.db.session() as session:
        paused = subscribers.get_row(session, subscriber.email).paused_until
    return form_values(subscriber, paused)


def show_manage(request: Request) -> Response:
    link = verify_link(request, "manage")
    values = _stored_values(request, link.subscriber)
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
    task = _store_changes(request, subscriber, changes.profile, changes.schedule)
    return RedirectResponse(f"/manage/{token}?saved=1", status_code=303, background=task)


def _store_changes(
    request: Request,
    subscriber: Subscriber,
    profile: dict[str, Any],
    schedule: dict[str, Any] | None = None,
) -> BackgroundTask | None:
    """Save the changes; if anything changed, the note to the address that says so."""
    ctx = web(request)
    with ctx.service.db.session() as session:
        row = subscribers.get_row(session, subscriber.email)
        before = subscribers.subscriber_json(row)
        row, _ = subscribers.upsert_subscriber(
            session, subscriber.email, now=ctx.clock(), profile_changes=profile, schedule=schedule
        )
        changed = subscribers.subscriber_json(row) != before
        updated = subscribers.to_subscriber(row)
    if not changed:
        return None
    log.info("%s changed their profile on the web", subscriber_ref(subscriber))
    return _preferences_changed_email(request, updated)


def _upload_library(request: Request, link: SignedLink, form: FormData) -> Response:
    """A BibTeX file's papers become seeds (never sent back), as `subscribers import-bib`."""
    token, subscriber = link.token, link.subscriber
    upload = form.get("library")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise DigestError("choose a .bib file first")
        data = upload.file.read(MAX_LIBRARY_BYTES + 1)
        library = read_library(decode_library(data, upload.filename))
    except DigestError as exc:
        error = FormError("library", str(exc))
        return _manage_page(
            request, token, subscriber, _stored_values(request, subscriber), error=error
        )
    merged = merge_library(subscriber.profile, library)
    task = _store_changes(request, subscriber, dict(merged.changes))
    added = f"{library.entries}.{merged.new_seeds}.{merged.title_topics}"
    return RedirectResponse(
        f"/manage/{token}?library={added}#your-library", status_code=303, background=task
    )


def _resubscribe(request: Request, link: SignedLink, form: FormData) -> Response:
    """The way back after unsubscribing: a new confirmation email, as signing up again sends.

    Manage links live for months and get forwarded, so the link alone does not subscribe the
    address again; the owner's click in the new email does.
    """
    ctx, subscriber = web(request), link.subscriber
    if subscriber.state != "unsubscribed":
        return RedirectResponse(f"/manage/{link.token}", status_code=303)
    refused = ctx.limits.refuse_signup(network_of(client_ip(request)), subscriber.email)
    if refused is not None:
        return too_many_requests(request)
    rendered, recipient, kind = prepare_signup_email(
        ctx.service, subscriber.email, (), now=ctx.clock()
    )
    log.info("%s asked to subscribe again: sending %s email", subscriber_ref(recipient), kind)
    task = send_in_background(ctx.service, rendered, recipient, kind=kind, now=ctx.clock())
    return page(request, "check_inbox.html", background=task)


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


_manage_link = partial(verify_link, purpose="manage")

routes = [
    Route("/manage/{token}", show_manage, methods=["GET", "HEAD"]),
    Route("/manage/{token}", form_post("manage", _manage_link, _save_manage), methods=["POST"]),
    Route(
        "/manage/{token}/library",
        form_post(
            "manage",
            _manage_link,
            _upload_library,
            max_bytes=MAX_LIBRARY_BYTES,
            max_files=1,
        ),
        methods=["POST"],
        max_body_size=MAX_LIBRARY_BYTES,
    ),
    Route(
        "/manage/{token}/resubscribe",
        form_post("resubscribe", _manage_link, _resubscribe),
        methods=["POST"],
    ),
]
