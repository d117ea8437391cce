"""A Digest becomes the exact bytes that go out: links, render, MIME, DKIM (delivery and preview).

Headers: Message-ID on the sender's domain (deterministic, so a retry keeps it), List-Id,
List-Unsubscribe (https link and mailto) with RFC 8058 one-click, and a Feedback-ID unique to the
message (date, subscriber, kind, domain). With DIGEST_DKIM_KEY_FILE and DIGEST_DKIM_SELECTOR set,
the message is signed for the sender's domain.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import OrderedDict
from collections.abc import Hashable

from digest.models import Digest, Links, OutgoingMessage, RenderedEmail, Subscriber
from digest.render.dkim_sign import signer_from_file
from digest.render.mime import PartTemplate, build_message, make_message_id
from digest.service import Service
from digest.tokens import LinkTokens


def digest_message_id(service: Service, subscriber: Subscriber, date: dt.date) -> str:
    """Deterministic per (subscriber, date), so a retry reuses the same Message-ID."""
    return make_message_id(
        service.settings.sender_domain, "digest", str(subscriber.id), date.isoformat()
    )


def feedback_id(digest: Digest, domain: str, kind: str) -> str:
    """'2026-11-24:42:digest:example.org': one value per message, in Gmail's a:b:c:sender form."""
    return f"{digest.date.isoformat()}:{digest.subscriber.id}:{kind}:{domain}"


class DigestRenders:
    """Digests rendered once per distinct content, with placeholder tokens for the links.

    Subscribers who share a profile and a history get the same picks, so a run renders the
    same digest for many of them; only the signed tokens in their links differ. A rendering is
    kept as the text between placeholders, so a hit costs two joins instead of two Jinja
    renders, and its MIME parts as :class:`~digest.render.mime.PartTemplate`, which encode only the
    lines that hold a token. The placeholders carry a random nonce, so text from a feed cannot
    contain one.
    Meant for one run: the key names papers by id, so a paper edited meanwhile would show as
    first rendered.
    """

    def __init__(self, service: Service, size: int = 512) -> None:
        self._service = service
        self._size = size
        nonce = secrets.token_hex(8)
        purposes = tuple(LinkTokens.__dataclass_fields__)
        self._placeholders = LinkTokens(*(f"{nonce}{purpose}" for purpose in purposes))
        self._split = re.compile(f"{nonce}({'|'.join(purposes)})")
        self._renders: OrderedDict[Hashable, _Rendering] = OrderedDict()

    def render(
        self, digest: Digest, tokens: LinkTokens, *, nothing_matched: bool
    ) -> tuple[RenderedEmail, tuple[bytes, bytes]]:
        """Exactly what rendering ``digest`` with links on ``tokens`` gives, and its text and
        HTML parts as :func:`~digest.render.mime.build_message` takes them."""
        key = (
            nothing_matched,
            digest.date,
            digest.themes,
            digest.overflow,
            tuple(topic.text for topic in digest.subscriber.profile.topics),
            tuple((p.paper.id, p.topic, p.reasons) for p in digest.picks),
        )
        cached = self._renders.get(key)
        if cached is None:
            paper_ids = tuple(pick.paper.id for pick in digest.picks)
            links = self._service.links.links_from(self._placeholders, digest.date, paper_ids)
            cached = _Rendering(_render(self._service, digest, links, nothing_matched), self._split)
            self._renders[key] = cached
            if len(self._renders) > self._size:
                self._renders.popitem(last=False)
        else:
            self._renders.move_to_end(key)
        return cached.fill(tokens)


class _Rendering:
    """One rendering with placeholders: its text split at them, and its parts as templates."""

    def __init__(self, rendered: RenderedEmail, placeholders: re.Pattern[str]) -> None:
        self.subject = rendered.subject
        self.html = placeholders.split(rendered.html)
        self.text = placeholders.split(rendered.text)
        self.parts = (PartTemplate("plain", self.text), PartTemplate("html", self.html))
        self.purposes = frozenset(self.html[1::2]) | frozenset(self.text[1::2])

    def fill(self, tokens: LinkTokens) -> tuple[RenderedEmail, tuple[bytes, bytes]]:
        slots = {purpose: getattr(tokens, purpose) for purpose in self.purposes}
        rendered = RenderedEmail(
            subject=self.subject, html=_fill(self.html, tokens), text=_fill(self.text, tokens)
        )
        return rendered, (self.parts[0].encode(slots), self.parts[1].encode(slots))


def _fill(pieces: list[str], tokens: LinkTokens) -> str:
    """Text split at placeholders (odd pieces name a purpose) with the tokens put back."""
    filled = pieces.copy()
    filled[1::2] = [getattr(tokens, purpose) for purpose in pieces[1::2]]
    return "".join(filled)


def _render(service: Service, digest: Digest, links: Links, nothing_matched: bool) -> RenderedEmail:
    if nothing_matched:
        return service.renderer.render_nothing(digest.subscriber, digest.date, links)
    return service.renderer.render_digest(digest, links)


def compose_digest(
    service: Service,
    digest: Digest,
    *,
    message_id: str,
    now: dt.datetime,
    nothing_matched: bool = False,
    renders: DigestRenders | None = None,
) -> tuple[RenderedEmail, OutgoingMessage]:
    """The digest's rendering and wire bytes; ``renders`` shares renderings across a run."""
    subscriber = digest.subscriber
    tokens = service.links.tokens_for(subscriber)
    parts = None
    if renders is not None:
        rendered, parts = renders.render(digest, tokens, nothing_matched=nothing_matched)
        links = service.links.links_from(tokens)  # the list headers need only unsubscribe
    else:
        paper_ids = tuple(pick.paper.id for pick in digest.picks)
        links = service.links.links_from(tokens, digest.date, paper_ids)
        rendered = _render(service, digest, links, nothing_matched)
    domain = service.settings.sender_domain
    data = build_message(
        rendered,
        sender=service.settings.from_,
        recipient=subscriber.email,
        message_id=message_id,
        date=now,
        list_id=f"{service.settings.list_name} <digest.{domain}>",
        unsubscribe_url=links.unsubscribe,
        unsubscribe_mailto=links.unsubscribe_mailto,
        feedback_id=feedback_id(digest, domain, "nothing" if nothing_matched else "digest"),
        parts=parts,
    )
    settings = service.settings
    signed = bool(settings.dkim_key_file and settings.dkim_selector)
    if signed:
        data = signer_from_file(settings.dkim_key_file, settings.dkim_selector, domain).sign(data)
    return rendered, OutgoingMessage(
        sender=service.settings.from_,
        recipient=subscriber.email,
        message_id=message_id,
        data=data,
        crlf_only=not signed,  # as digest.render.mime writes it; a signer's header is not checked
    )
