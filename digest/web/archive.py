"""A subscriber's past digests: the archive pages, "+N more" overflow, and their Atom feed.

The pages sit behind the signed ``archive`` link from each email. The feed has its own link
(``feed`` purpose, no expiry, ended by "New feed link" on the manage page); feeds added
before that used the archive link, which keeps working until it expires or the subscriber
makes a new feed link. A feed link that stopped working still answers with a one-entry feed
saying where to get a new one, since a feed reader shows entries, not error pages.

A digest page shows the papers as they were recorded when the email was planned; the
"+N more on <topic>" link of an email lands on it, so below the sent papers it lists the ones
the cap left out, ranked again by :func:`digest.pipeline.digest_for` (the ranking that built
the email) over that day's candidates, leaving out every paper the subscriber has been sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest import pipeline
from digest.models import Pick, Subscriber
from digest.ops import due_times
from digest.render.views import (
    OTHER_TOPIC,
    PaperFacts,
    by_topic,
    paper_facts,
    section_anchor,
    update_views,
)
from digest.store import archive, subscribers
from digest.tokens import ExpiredToken, InvalidToken
from digest.web.pages import error_page, page, verify_link, web
from digest.web.ranked import personal, ranking_context

OVERFLOW_SHOWN = 20
FEED_DIGESTS = 20
OTHER_LABEL = "other"  # rank.choose_for_digest's label for picks that matched no topic


@dataclass(frozen=True)
class ArchiveItem:
    """One paper as the archive page and the feed show it (the same facts as the email)."""

    paper_id: int
    facts: PaperFacts
    topic: str | None
    reasons: str


def archive_item(pick: archive.ArchivedPick | Pick) -> ArchiveItem:
    return ArchiveItem(
        paper_id=pick.paper.id,
        facts=paper_facts(pick.paper),
        topic=pick.topic,
        reasons=" · ".join(pick.reasons),
    )


@dataclass(frozen=True)
class OverflowGroup:
    topic: str
    promised: int  # the N of the email's "+N more"
    items: tuple[ArchiveItem, ...]


def overflow_groups(
    request: Request, subscriber: Subscriber, digest: archive.ArchivedDigest
) -> list[OverflowGroup]:
    """The papers behind the email's "+N more" links, best first, per topic."""
    if not digest.overflow:
        return []
    ctx = web(request)
    window = due_times.window_days_for(subscriber, ctx.service.settings.window_days)
    context = ranking_context(request, digest.date, window, keep=False)  # an old date, mostly
    _, picks = pipeline.digest_for(ctx.service, context, subscriber, now=ctx.clock())
    groups = []
    for topic, promised in digest.overflow:
        chosen = [p for p in picks if (p.topic or OTHER_LABEL) == topic]
        shown = tuple(archive_item(p) for p in chosen[: min(promised, OVERFLOW_SHOWN)])
        if not shown:  # no section without a paper
            continue
        label = OTHER_TOPIC if topic == OTHER_LABEL else topic
        groups.append(OverflowGroup(topic=label, promised=promised, items=shown))
    return groups


@dataclass(frozen=True)
class ArchiveSection:
    """One topic of a past digest, once: the papers the email carried, then its "+N more"."""

    topic: str
    items: tuple[ArchiveItem, ...]
    more: OverflowGroup | None

    @property
    def anchor(self) -> str:
        return section_anchor(self.topic)


def archive_sections(items: list[ArchiveItem], more: list[OverflowGroup]) -> list[ArchiveSection]:
    """The day page's sections in the email's order (its topics in the order of their best
    pick), each with the papers the cap left out beneath it; overflow of a topic the email
    had no paper for comes after (the email has no section for it either)."""
    extra = {group.topic: group for group in more}
    sections = [
        ArchiveSection(topic, tuple(papers), extra.pop(topic, None))
        for topic, papers in by_topic(items, lambda item: item.topic).items()
    ]
    return sections + [ArchiveSection(g.topic, (), g) for g in extra.values()]


def rfc3339(moment: dt.datetime) -> str:
    """Atom's timestamp form, in UTC (a naive time from SQLite is already UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def show_archive(request: Request) -> Response:
    """The list of past digests, or one of them as it was sent with its "+N more" papers."""
    link = verify_link(request, "archive")
    token, subscriber, ctx = link.token, link.subscriber, web(request)
    raw_date = request.path_params.get("date")
    day = _parse_date(raw_date)
    if raw_date is not None and day is None:
        return error_page(request, 404, "No such date", "That is not a date we know.")
    with ctx.service.db.session() as session:
        dates = archive.digest_dates(session, subscriber.id)
        digest = archive.delivered_digest(session, subscriber.id, day) if day else None
        generation = subscribers.feed_generation(session, subscriber.id) or 0
    if day is not None and digest is None:
        return error_page(
            request, 404, "No digest that day", "We did not send you a digest for that date."
        )
    items = [archive_item(p) for p in digest.picks] if digest else []
    more: list[OverflowGroup] | Response = []
    if digest and digest.overflow:
        more = personal(request, partial(overflow_groups, request, subscriber, digest))
    if isinstance(more, Response):
        return more
    links = ctx.service.links.for_subscriber(subscriber)
    return page(
        request,
        "archive.html",
        token=token,
        day=day,
        dates=dates,
        sections=archive_sections(items, more),
        updates=update_views(digest.updates) if digest else (),
        count=len(items),
        links=links,
        feed_url=ctx.service.links.feed_url(subscriber, generation),
    )


def feed_url_for(request: Request, subscriber: Subscriber) -> str:
    """The subscriber's current feed link (the manage and archive pages show it)."""
    service = web(request).service
    with service.db.session() as session:
        generation = subscribers.feed_generation(session, subscriber.id) or 0
    return service.links.feed_url(subscriber, generation)


def _feed_reader(request: Request) -> Subscriber | Response:
    """Whose feed the link in the path opens, or the notice feed saying why it no longer does.

    A tampered link or one for another purpose is refused (400) like any other link.
    """
    ctx, token = web(request), request.path_params["token"]
    try:
        ctx.service.signer.verify("feed", token)
        purpose = "feed"
    except InvalidToken:
        purpose = "archive"
        try:
            ctx.service.signer.verify(purpose, token)
        except ExpiredToken:
            return _notice_feed(request, "expired")
        except InvalidToken:
            pass  # verify_link refuses it with the reason
    link = verify_link(request, purpose)
    with ctx.service.db.session() as session:
        generation = subscribers.feed_generation(session, link.subscriber.id)
    if link.claims.extra.get("g", 0) != generation:  # an archive link: the feed of generation 0
        return _notice_feed(request, "replaced")
    return link.subscriber


NOTICES = {
    "expired": "This feed link has expired",
    "replaced": "This feed link was replaced by a new one",
}


def _notice_feed(request: Request, reason: str) -> Response:
    ctx = web(request)
    settings = ctx.service.settings
    body = ctx.templates.get_template("feed_notice.xml").render(
        list_name=settings.list_name,
        feed_id=f"tag:{settings.sender_domain},2026:digest/feed-notice",
        notice_id=f"tag:{settings.sender_domain},2026:digest/feed-notice/{reason}",
        title=NOTICES[reason],
        home_url=ctx.service.links.base_url + "/",
        updated=rfc3339(ctx.clock()),
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def atom_feed(request: Request) -> Response:
    """The subscriber's picks as an Atom feed, one entry per paper, newest digest first.

    Entry ids are tag URIs on the sender's domain, stable across token renewals, so a feed
    reader never shows a paper twice because the link it polls has changed. The archive
    links inside are freshly signed: the feed's own token opens no page.
    """
    reader = _feed_reader(request)
    if isinstance(reader, Response):
        return reader
    subscriber, ctx = reader, web(request)
    with ctx.service.db.session() as session:
        digests = archive.recent_digests(session, subscriber.id, limit=FEED_DIGESTS)
    archive_url = ctx.service.links.for_subscriber(subscriber).archive
    entries = [
        {
            "id": f"tag:{ctx.service.settings.sender_domain},{d.date.isoformat()}:"
            f"digest/{subscriber.id}/paper/{item.paper_id}",
            "updated": rfc3339(d.sent_at),
            "item": item,
            "day": d.date,
            "day_url": f"{archive_url}/{d.date.isoformat()}",
        }
        for d in digests
        for item in (archive_item(p) for p in d.picks)
    ]
    updated = digests[0].sent_at if digests else subscriber.confirmed_at or ctx.clock()
    body = ctx.templates.get_template("feed.xml").render(
        list_name=ctx.service.settings.list_name,
        feed_id=f"tag:{ctx.service.settings.sender_domain},2026:digest/{subscriber.id}",
        self_url=f"{ctx.service.links.base_url}/archive/{request.path_params['token']}/feed.atom",
        archive_url=archive_url,
        updated=rfc3339(updated),
        entries=entries,
    )
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"cache-control": "private, max-age=900"},
    )


routes = [
    Route("/archive/{token}", show_archive, methods=["GET", "HEAD"]),
    Route("/archive/{token}/feed.atom", atom_feed, methods=["GET", "HEAD"]),
    Route("/archive/{token}/{date}", show_archive, methods=["GET", "HEAD"]),
]
