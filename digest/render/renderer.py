"""Digest and account emails: models in, (subject, html, text) out, via Jinja2.

The HTML templates get ``templates/email/email.css`` inlined once, when they are loaded
(:mod:`digest.render.inline_css`); rendering an email is then plain Jinja2 with autoescape on for
``.html``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

from digest.models import Digest, Links, Paper, Pick, RenderedEmail, Subscriber
from digest.render.inline_css import InliningLoader, split_css
from digest.resources import templates_dir

SUBJECT_MAX = 120
EXCERPT_MAX = 450
OTHER_TOPIC = "Also worth a look"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BLOCK_CACHE_SIZE = 4096  # papers; a day's candidates are a few hundred
_TEMPLATES = ("digest", "nothing", "confirm", "welcome", "preferences_changed")

_SENTENCE_END = re.compile(r"([.!?][\"')\]]?)\s+(?=[A-Z\"'(\[])")
_ABBREVIATIONS = frozenset({"al.", "e.g.", "i.e.", "cf.", "vs.", "fig.", "eq.", "sec.", "approx."})
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "del", "della", "du", "dos"})
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def format_day(date: dt.date) -> str:
    """'Tue 24 Nov', the same in every locale."""
    return f"{_DAYS[date.weekday()]} {date.day} {_MONTHS[date.month - 1]}"


def digest_subject(date: dt.date, themes: Sequence[str]) -> str:
    """'Your papers for Tue 24 Nov: reward models, DPO +3': two themes, then how many more."""
    subject = f"Your papers for {format_day(date)}"
    clean = [" ".join(t.split()) for t in themes if t.strip()]
    if not clean:
        return subject
    shown = clean[:2]
    while shown:
        rest = len(clean) - len(shown)
        candidate = f"{subject}: {', '.join(shown)}" + (f" +{rest}" if rest else "")
        if len(candidate) <= SUBJECT_MAX:
            return candidate
        shown = shown[:-1]
    return _cut_words(f"{subject}: {clean[0]}", SUBJECT_MAX)


def shorten_author(name: str) -> str:
    """'R. Michael Alvarez' → 'R. Alvarez'; 'Jean-Pierre van der Berg' → 'J.-P. van der Berg'."""
    if "," in name:
        surname, _, given = name.partition(",")
        name = f"{given.strip()} {surname.strip()}"
    words = name.split()
    if len(words) < 2:
        return name.strip()
    suffix = ""
    if words[-1].lower() in _SUFFIXES and len(words) > 2:
        suffix = " " + words.pop()
    start = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i].lower() in _PARTICLES:
            start = i
            break
    initials = "-".join(part[0] + "." for part in words[0].split("-") if part)
    return f"{initials} {' '.join(words[start:])}{suffix}"


def shorten_authors(authors: Sequence[str], shown: int = 3) -> str:
    """'A. Author, B. Author, C. Author, +5'."""
    names = [shorten_author(a) for a in authors[:shown] if a.strip()]
    more = len(authors) - shown
    return ", ".join(names + ([f"+{more}"] if more > 0 else []))


def excerpt(abstract: str, limit: int = EXCERPT_MAX, sentences: int = 3) -> str:
    """Up to ``sentences`` whole sentences within ``limit`` characters; else cut between words."""
    abstract = abstract.lstrip()
    text = " ".join(abstract[: limit * 4].split())
    ends = []
    for match in _SENTENCE_END.finditer(text, 0, limit + 2):
        end = match.end(1)
        word = text[text.rfind(" ", 0, end) + 1 : end].lower()
        if word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", word):
            continue
        ends.append(end)
    if len(abstract) <= limit * 4:
        ends.append(len(text))
    fitting = [end for end in ends[:sentences] if end <= limit]
    if fitting:
        return text[: fitting[-1]]
    return _cut_words(text, limit)


def _cut_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit - 1].rstrip(" ,;:-") + "…"


def safe_url(url: str | None) -> str | None:
    """The URL if it is absolute http(s), else None: feed URLs never become other hrefs."""
    if not url:
        return None
    url = url.strip()
    scheme = url.split(":", 1)[0].lower()
    return url if scheme in ("http", "https") and url[len(scheme) :].startswith("://") else None


@lru_cache(maxsize=16384)
def wrap(text: str, width: int = 78, indent: str = "", first: str | None = None) -> str:
    """Greedy word wrap for the text part; ``first`` replaces ``indent`` on the first line.

    Long URLs keep a line of their own; no line passes 998 characters (RFC 5322). Cached:
    titles and reasons repeat across thousands of subscribers' emails.
    """
    lines: list[str] = []
    prefix = indent if first is None else first
    line = ""
    for word in text.split():
        while len(word) > 900:
            lines.append(prefix + word[:900])
            word, prefix = word[900:], indent
        if line and len(prefix) + len(line) + 1 + len(word) > width:
            lines.append(prefix + line)
            line, prefix = "", indent
        line = f"{line} {word}" if line else word
    if line:
        lines.append(prefix + line)
    return "\n".join(lines)


def bullets(items: Sequence[str], width: int = 78) -> str:
    """'  - item' lines for the text part."""
    return "\n".join(wrap(item, width, "    ", first="  - ") for item in items)


@dataclass(frozen=True)
class PaperFacts:
    """What a paper shows in every email and page: strings ready to print, unsafe URLs dropped."""

    title: str
    url: str | None
    authors: str
    categories: str
    excerpt: str
    pdf_url: str | None
    code_url: str | None


@lru_cache(maxsize=8192)
def paper_facts(paper: Paper) -> PaperFacts:
    """Cached: a run shows the same few hundred papers to thousands of subscribers."""
    return PaperFacts(
        title=" ".join(paper.title.split()),
        url=safe_url(paper.url),
        authors=shorten_authors(paper.authors),
        categories=", ".join(paper.categories[:5]),
        excerpt=excerpt(paper.abstract),
        pdf_url=safe_url(paper.pdf_url),
        code_url=safe_url(paper.code_url),
    )


@dataclass(frozen=True)
class PaperBlock:
    """A paper's part of a digest email that is the same for every subscriber, rendered once.

    ``html_head``/``text_head``: title, authors, categories and excerpt; ``html_links``/
    ``text_links``: the abstract, PDF and code links. The text part's title line is not here,
    because it carries the paper's number in that email.
    """

    html_head: Markup = Markup("")
    html_links: Markup = Markup("")
    text_head: str = ""
    text_links: str = ""


@dataclass(frozen=True)
class PaperView:
    """One pick as the templates show it: the paper's facts plus this subscriber's parts."""

    facts: PaperFacts
    reasons: str
    more_url: str | None
    less_url: str | None
    block: PaperBlock = PaperBlock()


@dataclass(frozen=True)
class TopicGroup:
    topic: str
    papers: tuple[PaperView, ...]
    overflow: int = 0


def paper_view(pick: Pick, links: Links, block: PaperBlock = PaperBlock()) -> PaperView:
    more, less = links.feedback.get(pick.paper.id, (None, None))
    return PaperView(
        facts=paper_facts(pick.paper),
        reasons=" · ".join(pick.reasons),
        more_url=safe_url(more),
        less_url=safe_url(less),
        block=block,
    )


def group_picks(
    digest: Digest, links: Links, blocks: Callable[[Paper], PaperBlock] | None = None
) -> tuple[TopicGroup, ...]:
    """Picks grouped by topic, groups in the order of their best pick (picks come best first).

    ``blocks`` gives each paper's pre-rendered email block (the email renderer's cache).
    """
    grouped: dict[str, list[PaperView]] = {}
    for pick in digest.picks:
        block = blocks(pick.paper) if blocks else PaperBlock()
        grouped.setdefault(pick.topic or OTHER_TOPIC, []).append(paper_view(pick, links, block))
    overflow = dict(digest.overflow)
    groups = [TopicGroup(t, tuple(p), overflow.pop(t, 0)) for t, p in grouped.items()]
    groups += [TopicGroup(t, (), n) for t, n in overflow.items() if n > 0]
    return tuple(groups)


class EmailRenderer:
    """Loads the email templates once; each ``render_*`` call is then a plain Jinja2 render."""

    def __init__(
        self, *, list_name: str, postal_address: str, base_url: str, templates: Path | None = None
    ) -> None:
        folder = templates or templates_dir()
        inline_css, kept_css = split_css((folder / "email" / "email.css").read_text("utf-8"))
        env = Environment(
            loader=InliningLoader(folder, inline_css),
            autoescape=lambda name: bool(name and name.endswith(".html")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        env.filters.update(wrap=wrap, bullets=bullets)
        env.globals.update(
            list_name=list_name,
            postal_address=postal_address,
            base_url=base_url,
            kept_css=Markup(kept_css),
        )
        self._templates: dict[str, tuple[Template, Template]] = {
            name: (env.get_template(f"email/{name}.html"), env.get_template(f"email/{name}.txt"))
            for name in _TEMPLATES
        }
        self.list_name = list_name
        html_macros, text_macros = (
            env.get_template(f"email/_macros.{kind}").module for kind in ("html", "txt")
        )
        self._html_macros: Any = html_macros
        self._text_macros: Any = text_macros
        self._blocks: dict[Paper, PaperBlock] = {}

    def paper_block(self, paper: Paper) -> PaperBlock:
        """The paper's subscriber-independent HTML and text, rendered on first use."""
        block = self._blocks.get(paper)
        if block is None:
            if len(self._blocks) >= BLOCK_CACHE_SIZE:
                self._blocks.clear()
            facts = paper_facts(paper)
            block = self._blocks[paper] = PaperBlock(
                html_head=Markup(str(self._html_macros.paper_head(facts)).strip()),
                html_links=Markup(str(self._html_macros.paper_links(facts)).strip()),
                text_head=str(self._text_macros.paper_head(facts)).strip("\n"),
                text_links=str(self._text_macros.paper_links(facts)).strip("\n"),
            )
        return block

    def _render(self, name: str, subject: str, **context: object) -> RenderedEmail:
        html_template, text_template = self._templates[name]
        html = html_template.render(subject=subject, **context)
        return RenderedEmail(
            subject=subject,
            html=html.encode("ascii", "xmlcharrefreplace").decode("ascii"),  # goes as 7bit
            text=text_template.render(subject=subject, **context),
        )

    def render_digest(self, digest: Digest, links: Links) -> RenderedEmail:
        return self._render(
            "digest",
            digest_subject(digest.date, digest.themes),
            day=format_day(digest.date),
            themes=[" ".join(t.split()) for t in digest.themes],
            groups=group_picks(digest, links, self.paper_block),
            count=len(digest.picks),
            topics=_topics(digest.subscriber),
            links=links,
        )

    def render_nothing(self, subscriber: Subscriber, date: dt.date, links: Links) -> RenderedEmail:
        day = format_day(date)
        return self._render(
            "nothing",
            f"Nothing matched your topics for {day}",
            day=day,
            topics=_topics(subscriber),
            links=links,
        )

    def render_confirm(self, email: str, confirm_url: str, topics: Sequence[str]) -> RenderedEmail:
        return self._render(
            "confirm",
            f"Confirm your subscription to {self.list_name}",
            email=email,
            confirm_url=confirm_url,
            topics=list(topics),
            links=None,
        )

    def render_welcome(self, subscriber: Subscriber, links: Links) -> RenderedEmail:
        return self._render(
            "welcome",
            f"Welcome to {self.list_name}",
            subscriber=subscriber,
            topics=_topics(subscriber),
            links=links,
        )

    def render_preferences_changed(self, subscriber: Subscriber, links: Links) -> RenderedEmail:
        return self._render(
            "preferences_changed",
            f"Your {self.list_name} preferences were updated",
            subscriber=subscriber,
            profile=subscriber.profile,
            topics=_topics(subscriber),
            links=links,
        )


def _topics(subscriber: Subscriber) -> list[str]:
    return [topic.text for topic in subscriber.profile.topics]
