"""View models: a digest's picks as the templates show them, grouped by topic.

Shared by the email renderer and the web archive, so a pick looks the same in both. Every URL
that came from a feed passes :func:`~digest.render.text.safe_url` here, before any template sees it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from markupsafe import Markup

from digest.models import Digest, Links, Paper, PaperUpdate, Pick
from digest.render.latex import readable
from digest.render.text import excerpt, format_date, safe_url, shorten_authors

OTHER_TOPIC = "Also worth a look"
OTHER_LABEL = "other"  # the ranking's label (and overflow key) for picks of no topic
EXCERPT_CHARS = 220  # two sentences that fit; about three lines at 640 px, so 10 picks fit 2,400 px


@dataclass(frozen=True)
class PaperFacts:
    """What a paper shows in every email and page: strings ready to print, unsafe URLs dropped."""

    title: str
    url: str | None
    authors: str
    categories: str
    excerpt: str  # the one line under the title: the TL;DR when there is one, else the abstract's
    pdf_url: str | None
    code_url: str | None
    tldr: str | None = None  # the language model's one-line TL;DR (None: unset or it failed)
    abstract_excerpt: str = ""  # the abstract's first sentences, whatever ``excerpt`` shows
    ident: str = ""  # 'arXiv:2604.21003' or 'doi:10.1000/x'
    category: str = ""  # the primary category (arXiv lists it first)
    day: str = ""  # '29 Apr 2026': when it was published
    badge: str = ""  # 'v2' for a revised arXiv paper, else ''

    @property
    def meta(self) -> str:
        """What a reader scans first: 'A. Author, B. Author et al. · arXiv:… · cs.LG · date'."""
        parts = (self.authors, self.ident, self.category, self.day)
        return " · ".join(part for part in parts if part)


@lru_cache(maxsize=8192)
def paper_facts(paper: Paper) -> PaperFacts:
    """Cached: a run shows the same few hundred papers to thousands of subscribers.

    Title, abstract and TL;DR pass :func:`readable` here, so no view shows LaTeX source.
    """
    abstract = excerpt(readable(paper.abstract), limit=EXCERPT_CHARS)
    tldr = readable(" ".join(paper.tldr.split())) if paper.tldr else None
    return PaperFacts(
        title=readable(" ".join(paper.title.split())),
        url=safe_url(paper.url),
        authors=shorten_authors(paper.authors),
        categories=", ".join(paper.categories[:5]),
        excerpt=tldr or abstract,
        pdf_url=safe_url(paper.pdf_url),
        code_url=safe_url(paper.code_url),
        tldr=tldr,
        abstract_excerpt=abstract,
        ident=_ident(paper),
        category=paper.categories[0] if paper.categories else "",
        day=format_date(paper.published.date()) if paper.published else "",
        badge=f"v{paper.version}" if paper.arxiv_id and paper.version >= 2 else "",
    )


def _ident(paper: Paper) -> str:
    if paper.arxiv_id:
        return f"arXiv:{paper.arxiv_id}"
    return f"doi:{paper.doi}" if paper.doi else ""


@dataclass(frozen=True)
class PaperBlock:
    """A paper's part of a digest email that is the same for every subscriber, rendered once.

    ``*_head``: title, badge and the meta line; ``*_excerpt``: the excerpt (the subscriber's
    reasons go between the two); ``*_links``: the abstract, PDF and code buttons. The text
    part's title line is not here, because it carries the paper's number in that email.
    """

    html_head: Markup = Markup("")
    html_excerpt: Markup = Markup("")
    html_links: Markup = Markup("")
    text_head: str = ""
    text_excerpt: str = ""
    text_links: str = ""


@dataclass(frozen=True)
class PaperView:
    """One pick as the templates show it: the paper's facts plus this subscriber's parts."""

    facts: PaperFacts
    reasons: str
    more_url: str | None
    less_url: str | None
    block: PaperBlock = PaperBlock()


def section_anchor(topic: str) -> str:
    """The id of a topic's section on the archive page, so the email's "+N more" link lands on
    it: the topic's words in ASCII, or a short hash for a topic written in none."""
    slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")[:48]
    return f"topic-{slug or hashlib.sha256(topic.encode()).hexdigest()[:10]}"


Grouped = TypeVar("Grouped")


def by_topic(
    items: Iterable[Grouped], topic_of: Callable[[Grouped], str | None]
) -> dict[str, list[Grouped]]:
    """Items per topic label, topics in the order of their first item, items in their order:
    the email's sections, which the archive page repeats."""
    grouped: dict[str, list[Grouped]] = {}
    for item in items:
        grouped.setdefault(topic_of(item) or OTHER_TOPIC, []).append(item)
    return grouped


@dataclass(frozen=True)
class TopicGroup:
    topic: str
    papers: tuple[PaperView, ...]
    overflow: int = 0

    @property
    def anchor(self) -> str:
        return section_anchor(self.topic)


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

    Only topics with a pick get a group: a heading with nothing but "+N more" under it is not
    a section (the ranking serves every topic it can; the rest are in the archive).
    ``blocks`` gives each paper's pre-rendered email block (the email renderer's cache).
    """
    overflow = {OTHER_TOPIC if t == OTHER_LABEL else t: n for t, n in digest.overflow}
    return tuple(
        TopicGroup(
            topic,
            tuple(paper_view(p, links, blocks(p.paper) if blocks else PaperBlock()) for p in picks),
            overflow.get(topic, 0),
        )
        for topic, picks in by_topic(digest.picks, lambda pick: pick.topic).items()
    )


@dataclass(frozen=True)
class UpdateView:
    """One line of the "Updated" block: a paper the reader got, now in a newer version."""

    label: str  # 'v2'
    title: str
    url: str | None
    pdf_url: str | None
    note: str  # 'abstract revised; you got v1'


def update_views(updates: Sequence[PaperUpdate]) -> tuple[UpdateView, ...]:
    """A digest's revised papers as its "Updated" block lists them, in the order planned."""
    views = []
    for update in updates:
        facts = paper_facts(update.paper)
        change = update.paper.revision or "new version"
        views.append(
            UpdateView(
                label=f"v{update.paper.version}",
                title=facts.title,
                url=facts.url,
                pdf_url=facts.pdf_url,
                note=f"{change}; you got v{update.sent_version}",
            )
        )
    return tuple(views)


def section_ordered(themes: Sequence[str], groups: Sequence[TopicGroup]) -> list[str]:
    """``themes`` (one line each) in the order of the email's sections, the others after."""
    clean = [" ".join(t.split()) for t in themes if t.strip()]
    order = {group.topic: i for i, group in enumerate(groups)}
    return sorted(clean, key=lambda theme: order.get(theme, len(order)))
