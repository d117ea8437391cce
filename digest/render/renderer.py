"""Digest and account emails: models in, (subject, html, text) out, via Jinja2.

The HTML templates get ``templates/email/email.css`` inlined once, when they are loaded
(:mod:`digest.render.inline_css`); rendering an email is then plain Jinja2 with autoescape on for
``.html``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, StrictUndefined, Template, TemplateRuntimeError
from jinja2.environment import TemplateModule
from jinja2.runtime import Macro
from markupsafe import Markup

from digest.models import Digest, Links, Paper, PaperUpdate, RenderedEmail, Subscriber
from digest.render.inline_css import InliningLoader, split_css
from digest.render.text import bullets, digest_period, digest_subject, wrap
from digest.render.views import (
    PaperBlock,
    group_picks,
    paper_facts,
    section_ordered,
    update_views,
)
from digest.resources import templates_dir

BLOCK_CACHE_SIZE = 4096  # papers; a day's candidates are a few hundred
_TEMPLATES = ("digest", "nothing", "confirm", "welcome", "preferences_changed")


class EmailRenderer:
    """Loads the email templates once; each ``render_*`` call is then a plain Jinja2 render."""

    def __init__(
        self, *, list_name: str, postal_address: str, base_url: str, templates: Path | None = None
    ) -> None:
        loaded = _compiled(templates or templates_dir(), list_name, postal_address, base_url)
        self._templates, self._html_macros, self._text_macros = loaded
        self.list_name = list_name
        self._blocks: dict[Paper, PaperBlock] = {}

    def paper_block(self, paper: Paper) -> PaperBlock:
        """The paper's subscriber-independent HTML and text, rendered on first use."""
        block = self._blocks.get(paper)
        if block is None:
            if len(self._blocks) >= BLOCK_CACHE_SIZE:
                self._blocks.clear()
            facts = paper_facts(paper)
            html, text = self._html_macros, self._text_macros
            block = self._blocks[paper] = PaperBlock(
                html_head=Markup(str(html.head(facts)).strip()),
                html_excerpt=Markup(str(html.excerpt(facts)).strip()),
                html_links=Markup(str(html.links(facts)).strip()),
                text_head=str(text.head(facts)).strip("\n"),
                text_excerpt=str(text.excerpt(facts)).strip("\n"),
                text_links=str(text.links(facts)).strip("\n"),
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
        """The header's themes and the subject's follow the order of the sections."""
        groups = group_picks(digest, links, self.paper_block)
        themes = section_ordered(digest.themes, groups)
        weekly = digest.subscriber.frequency == "weekly"
        return self._render(
            "digest",
            digest_subject(digest.date, themes, weekly),
            period=digest_period(digest.date, weekly),
            themes=themes,
            groups=groups,
            updates=update_views(digest.updates),
            count=len(digest.picks),
            topics=_topics(digest.subscriber),
            links=links,
        )

    def render_nothing(
        self,
        subscriber: Subscriber,
        date: dt.date,
        links: Links,
        updates: Sequence[PaperUpdate] = (),
    ) -> RenderedEmail:
        weekly = subscriber.frequency == "weekly"
        period = digest_period(date, weekly)
        return self._render(
            "nothing",
            f"Nothing matched your topics for {period}",
            period=period,
            weekly=weekly,
            topics=_topics(subscriber),
            updates=update_views(updates),
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


_Compiled = tuple[dict[str, tuple[Template, Template]], "_PaperMacros", "_PaperMacros"]


@functools.lru_cache(maxsize=8)
def _compiled(folder: Path, list_name: str, postal_address: str, base_url: str) -> _Compiled:
    """The email templates compiled once per process and settings: compiling the twelve costs
    about 125 ms, which every `digest run --due` tick and every test's service paid again."""
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
    templates = {
        name: (env.get_template(f"email/{name}.html"), env.get_template(f"email/{name}.txt"))
        for name in _TEMPLATES
    }
    return templates, _paper_macros(env, "html"), _paper_macros(env, "txt")


@dataclass(frozen=True)
class _PaperMacros:
    """The macros of one ``email/_macros`` template that render a paper's shared block."""

    head: Macro
    excerpt: Macro
    links: Macro


def _paper_macros(env: Environment, kind: str) -> _PaperMacros:
    module = env.get_template(f"email/_macros.{kind}").module
    return _PaperMacros(
        head=_macro(module, "paper_head"),
        excerpt=_macro(module, "paper_excerpt"),
        links=_macro(module, "paper_links"),
    )


def _macro(module: TemplateModule, name: str) -> Macro:
    """The macro ``name`` of a template's module, checked: module attributes are untyped."""
    found = getattr(module, name, None)
    if not isinstance(found, Macro):
        raise TemplateRuntimeError(f"{module} defines no macro {name!r}")
    return found


def _topics(subscriber: Subscriber) -> list[str]:
    return [topic.text for topic in subscriber.profile.topics]
