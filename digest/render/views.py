"""View models: a digest's picks as the templates show them, grouped by topic.

Shared by the email renderer and the web archive, so a pick looks the same in both. Every URL
that came from a feed passes :func:`~digest.render.text.safe_url` here, before any template sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from digest.models import Digest, Links, Paper, Pick
from digest.render.latex import readable
from digest.render.text import excerpt, safe_url, shorten_authors

OTHER_TOPIC = "Also worth a look"
OTHER_LABEL = "other"  # the ranking's label (and overflow key) for picks of no topic


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


@lru_cache(maxsize=8192)
def paper_facts(paper: Paper) -> PaperFacts:
    """Cached: a run shows the same few hundred papers to thousands of subscribers.

    Title, abstract and TL;DR pass :func:`readable` here, so no view shows LaTeX source.
    """
    abstract = excerpt(readable(paper.abstract))
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

    Only topics with a pick get a group: a heading with nothing but "+N more" under it is not
    a section (the ranking serves every topic it can; the rest are in the archive).
    ``blocks`` gives each paper's pre-rendered email block (the email renderer's cache).
    """
    grouped: dict[str, list[PaperView]] = {}
    for pick in digest.picks:
        block = blocks(pick.paper) if blocks else PaperBlock()
        grouped.setdefault(pick.topic or OTHER_TOPIC, []).append(paper_view(pick, links, block))
    overflow = {OTHER_TOPIC if t == OTHER_LABEL else t: n for t, n in digest.overflow}
    return tuple(TopicGroup(t, tuple(p), overflow.get(t, 0)) for t, p in grouped.items())
