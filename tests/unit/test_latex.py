"""LaTeX in titles and abstracts reads as text; plain text with $, % or ~ is left alone."""

from __future__ import annotations

import datetime as dt

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
