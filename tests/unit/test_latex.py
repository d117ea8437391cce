"""LaTeX in titles and abstracts reads as text; plain text with $, % or ~ is left alone."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest

from digest.models import Paper
from digest.render.latex import looks_like_latex, readable
from digest.render.views import paper_facts
from digest.web.home import paper_card


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (
            r"Models $\textit{with emergent creative capabilities}$",
            "Models with emergent creative capabilities",
        ),
        (r"Regret of order $\ln\ln T$ for bandits", "Regret of order ln ln T for bandits"),
        (r"$O(n^2)$ time on 50% of inputs", "O(n^2) time on 50% of inputs"),
        (r"for $n$ points and $\alpha$-stable laws", "for n points and α-stable laws"),
        (r"\texttt{torch.compile} and \textsf{sans} $\mathbf{x}$", "torch.compile and sans x"),
        (r"$\mathbb{R}^d$, $\leq$ and 100\% sure", "ℝ^d, ≤ and 100% sure"),
        (r"\emph{See} https://x.org/a%20b/~u", "See https://x.org/a%20b/~u"),
    ],
)
def test_latex_becomes_readable_text_and_the_words_survive(source: str, shown: str) -> None:
    assert readable(source) == shown


@pytest.mark.parametrize(
    "plain",
    [
        "It costs $5 to $10, 50% of ~3x & more #1",
        "Prices rose from $5-$10 to $20",
        "A 100% accurate model at ~$3 per run",
        "No markup at all: {braces} stay, so do 5 % signs",
        "",
    ],
)
def test_plain_text_is_not_mangled(plain: str) -> None:
    assert not looks_like_latex(plain)
    assert readable(plain) == plain


def test_latex_pylatexenc_cannot_parse_comes_back_as_it_was() -> None:
    source = r"\href{http://a.example}{Link} text"
    assert readable(source) == source


def test_views_show_readable_text_and_the_store_keeps_the_source() -> None:
    paper = Paper(
        id=1,
        key="arxiv:2604.00001",
        title=r"Bounds in $\ln\ln T$ time",
        abstract=r"We study $\textit{with emergent creative capabilities}$ models. Second.",
        published=dt.datetime(2026, 4, 30, tzinfo=dt.UTC),
    )
    facts = paper_facts(paper)
    card = paper_card(paper, None)
    assert facts.title == card.title == "Bounds in ln ln T time"
    assert "$" not in facts.excerpt and "\\" not in card.excerpt
    assert "with emergent creative capabilities" in facts.excerpt
    assert paper.title == r"Bounds in $\ln\ln T$ time"  # the source is kept for a re-render


LATEX_TITLE = r"Regret $\ln\ln T$ for $\textit{with emergent creative capabilities}$ bandits"
LATEX_ABSTRACT = r"We bound $O(\sqrt{n})$ regret on 50% of runs. The \emph{second} sentence."


def test_both_parts_of_the_email_show_readable_text_and_a_tldr_replaces_the_excerpt() -> None:
    from dataclasses import replace

    from digest.render.renderer import EmailRenderer
    from tests.unit.render_support import PAPERS, make_digest, make_links

    latex = replace(PAPERS[0], title=LATEX_TITLE, abstract=LATEX_ABSTRACT)
    summarized = replace(PAPERS[1], tldr="A one-line summary of $\\alpha$-paper two.")
    digest = make_digest([latex, summarized, *PAPERS[2:10]])
    renderer = EmailRenderer(
        list_name="Papers digest", postal_address="1 Example St", base_url="https://d.example"
    )
    email = renderer.render_digest(digest, make_links(digest))
    readable_title = "Regret ln ln T for with emergent creative capabilities bandits"
    for part in (" ".join(email.text.split()), " ".join(unescape(email.html).split())):
        assert readable_title in part
        assert "O(√(n)) regret on 50% of runs" in part
        assert "A one-line summary of α-paper two." in part
        assert "\\ln" not in part and "\\textit" not in part and "\\emph" not in part
