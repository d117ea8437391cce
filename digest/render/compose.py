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
from dataclasses import dataclass

from digest.models import Digest, Links, OutgoingMessage, RenderedEmail
from digest.render.dkim_sign import DkimSigner
from digest.render.headers import make_message_id
from digest.render.mime import PartTemplate, build_message
from digest.render.renderer import EmailRenderer
from digest.tokens import LinkBuilder, LinkTokens


@dataclass(frozen=True)
class MessageSettings:
    """What every message of this list says about its sender."""

    sender: str  # the From address, also the envelope sender
    domain: str  # the sender's domain: Message-IDs, List-Id, Feedback-ID, DKIM
    list_name: str

    @property
    def list_id(self) -> str:
        return f"{self.list_name} <digest.{self.domain}>"


@dataclass(frozen=True)
class Composer:
    """All that composing a message needs, and nothing else: no database, no Service.

    ``dkim`` signs digests when set; account emails from the web are not signed.
    """

    message: MessageSettings
    links: LinkBuilder
    renderer: EmailRenderer
    dkim: DkimSigner | None = None

    def outgoing(
        self,
        rendered: RenderedEmail,
        *,
        recipient: str,
        links: Links,
        message_id: str,
        now: dt.datetime,
        feedback_id: str,
        parts: tuple[bytes, bytes] | None = None,
        sign: bool = False,
        envelope_sender: str | None = None,
    ) -> OutgoingMessage:
        """The wire bytes of one list message: MIME parts and the list headers every message
        carries (List-Id, List-Unsubscribe with one-click, Feedback-ID), DKIM-signed if asked.
        ``envelope_sender`` (MAIL FROM, where reports come back) defaults to the From address."""
        data = build_message(
            rendered,
            sender=self.message.sender,
            recipient=recipient,
            message_id=message_id,
            date=now,
            list_id=self.message.list_id,
            unsubscribe_url=links.unsubscribe,
            unsubscribe_mailto=links.unsubscribe_mailto,
            feedback_id=feedback_id,
            parts=parts,
        )
        signed = sign and self.dkim is not None
        if signed and self.dkim is not None:
            data = self.dkim.sign(data)
        return OutgoingMessage(
            sender=envelope_sender or self.message.sender,
            recipient=recipient,
            message_id=message_id,
            data=data,
            crlf_only=not signed,  # as mime writes it; a signer's header is not checked
        )


def digest_message_id(domain: str, subscriber_id: int, date: dt.date) -> str:
    """Deterministic per (subscriber, date), so a retry reuses the same Message-ID."""
    return make_message_id(domain, "digest", str(subscriber_id), date.isoformat())


def feedback_id(date: dt.date, subscriber_id: int, kind: str, domain: str) -> str:
    """'2026-11-24:42:digest:example.org': one value per message, in Gmail's a:b:c:sender form."""
    return f"{date.isoformat()}:{subscriber_id}:{kind}:{domain}"


class DigestRenders:
    """Digests rendered once per distinct content, with placeholder tokens for the links.

    Subscribers who share a profile and a history get the same picks, so a run renders the
    same digest for many of them; only the signed tokens in their links differ. A rendering is
    kept as the text between placeholders, so a hit costs two joins instead of two Jinja
    renders, and, once a second subscriber gets it, its MIME parts as
    :class:`~digest.render.mime.PartTemplate`, which encode only the lines that hold a token.
    The placeholders carry a random nonce, so text from a feed cannot
    contain one.
    Meant for one run: the key names papers by id, so a paper edited meanwhile would show as
    first rendered.
    """

    def __init__(self, composer: Composer, size: int = 512) -> None:
        self._composer = composer
        self._size = size
        nonce = secrets.token_hex(8)
        purposes = tuple(LinkTokens.__dataclass_fields__)
        self._placeholders = LinkTokens(*(f"{nonce}{purpose}" for purpose in purposes))
        self._split = re.compile(f"{nonce}({'|'.join(purposes)})")
        self._renders: OrderedDict[Hashable, _Rendering] = OrderedDict()

    def render(
        self, digest: Digest, tokens: LinkTokens, *, nothing_matched: bool
    ) -> tuple[RenderedEmail, tuple[bytes, bytes] | None]:
        """Exactly what rendering ``digest`` with links on ``tokens`` gives, and its text and
        HTML parts as :func:`~digest.render.mime.build_message` takes them (None: encode them
        from the rendering)."""
        key = (
            nothing_matched,
            digest.date,
            digest.themes,
            digest.overflow,
            digest.subscriber.frequency,  # a weekly digest speaks of the week
            tuple(topic.text for topic in digest.subscriber.profile.topics),
            tuple((p.paper.id, p.topic, p.reasons) for p in digest.picks),
        )
        cached = self._renders.get(key)
        if cached is None:
            paper_ids = tuple(pick.paper.id for pick in digest.picks)
            links = self._composer.links.links_from(self._placeholders, digest.date, paper_ids)
            rendering = _render(self._composer.renderer, digest, links, nothing_matched)
            cached = _Rendering(rendering, self._split)
            self._renders[key] = cached
            if len(self._renders) > self._size:
                self._renders.popitem(last=False)
        else:
            self._renders.move_to_end(key)
        return cached.fill(tokens)


class _Rendering:
    """One rendering with placeholders: its text split at them, and once it is used again, its
    parts as templates.

    Most renderings of a run serve one subscriber (distinct profiles rank distinct picks):
    building both templates costs more than encoding the filled parts whole, so a rendering
    first used is encoded whole and its templates are built when a second subscriber gets it.
    ``bench/render.py`` (2,000 subscribers of bench/daily.py's day, about 13% of renderings
    shared) measured 794 -> 616 µs per message against the tree that built them always.
    """

    def __init__(self, rendered: RenderedEmail, placeholders: re.Pattern[str]) -> None:
        self.subject = rendered.subject
        self.html = placeholders.split(rendered.html)
        self.text = placeholders.split(rendered.text)
        self.parts: tuple[PartTemplate, PartTemplate] | None = None
        self.used = False
        self.purposes = frozenset(self.html[1::2]) | frozenset(self.text[1::2])

    def fill(self, tokens: LinkTokens) -> tuple[RenderedEmail, tuple[bytes, bytes] | None]:
        """The rendering with ``tokens``, and its encoded parts unless this is its first use."""
        rendered = RenderedEmail(
            subject=self.subject, html=_fill(self.html, tokens), text=_fill(self.text, tokens)
        )
        if not self.used:
            self.used = True
            return rendered, None
        if self.parts is None:
            self.parts = (PartTemplate("plain", self.text), PartTemplate("html", self.html))
        slots = {purpose: getattr(tokens, purpose) for purpose in self.purposes}
        return rendered, (self.parts[0].encode(slots), self.parts[1].encode(slots))


def _fill(pieces: list[str], tokens: LinkTokens) -> str:
    """Text split at placeholders (odd pieces name a purpose) with the tokens put back."""
    filled = pieces.copy()
    filled[1::2] = [getattr(tokens, purpose) for purpose in pieces[1::2]]
    return "".join(filled)


def _render(
    renderer: EmailRenderer, digest: Digest, links: Links, nothing_matched: bool
) -> RenderedEmail:
    if nothing_matched:
        return renderer.render_nothing(digest.subscriber, digest.date, links, digest.updates)
    return renderer.render_digest(digest, links)


def compose_digest(
    composer: Composer,
    digest: Digest,
    *,
    message_id: str,
    now: dt.datetime,
    nothing_matched: bool = False,
    renders: DigestRenders | None = None,
    envelope_sender: str | None = None,
) -> tuple[RenderedEmail, OutgoingMessage]:
    """The digest's rendering and wire bytes; ``renders`` shares renderings across a run;
    ``envelope_sender`` is the delivery's VERP address (see digest.deliver.verp) when sent."""
    subscriber = digest.subscriber
    tokens = composer.links.tokens_for(subscriber)
    parts = None
    if renders is not None:
        rendered, parts = renders.render(digest, tokens, nothing_matched=nothing_matched)
        links = composer.links.links_from(tokens)  # the list headers need only unsubscribe
    else:
        paper_ids = tuple(pick.paper.id for pick in digest.picks)
        links = composer.links.links_from(tokens, digest.date, paper_ids)
        rendered = _render(composer.renderer, digest, links, nothing_matched)
    kind = "nothing" if nothing_matched else "digest"
    message = composer.outgoing(
        rendered,
        recipient=subscriber.email,
        links=links,
        message_id=message_id,
        now=now,
        feedback_id=feedback_id(digest.date, subscriber.id, kind, composer.message.domain),
        parts=parts,
        sign=True,
        envelope_sender=envelope_sender,
    )
    return rendered, message
