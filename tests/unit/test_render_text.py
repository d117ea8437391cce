"""The text helpers: authors shortened, abstracts cut to an excerpt, the digest's subject."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.models import Paper
from digest.render.text import (
    EXCERPT_MAX,
    digest_period,
    digest_subject,
    excerpt,
    format_week,
    shorten_author,
    shorten_authors,
)
from tests.unit.render_support import DAY, PAPERS


def test_authors_are_shortened_to_initial_and_surname() -> None:
    assert shorten_author("R. Michael Alvarez") == "R. Alvarez"
    assert shorten_author("Jean-Pierre van der Berg") == "J.-P. van der Berg"
    assert shorten_author("Curie, Marie") == "M. Curie"
    assert shorten_author("Plato") == "Plato"
    names = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]
    assert shorten_authors(names) == "A. Lovelace, A. Turing et al."
    assert shorten_authors(names[:3]) == "A. Lovelace, A. Turing, G. Hopper"
    assert shorten_authors(names[:2]) == "A. Lovelace, A. Turing"
    assert shorten_authors(names, shown=4).endswith("G. Hopper, E. Dijkstra, B. Liskov")


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.arxiv_id or "")
def test_excerpt_cuts_at_a_sentence_within_the_limit(paper: Paper) -> None:
    text = " ".join(paper.abstract.split())
    cut = excerpt(paper.abstract)
    assert len(cut) <= EXCERPT_MAX
    if cut.endswith("…"):
        kept = cut[:-1]
        assert text.startswith(kept) and text[len(kept)] == " "  # never mid-word
    else:
        assert text.startswith(cut)
        assert cut == text or cut[-1] in ".!?\"')]"
    assert cut.count(". ") <= 1 or len(cut) < EXCERPT_MAX


def test_excerpt_is_two_sentences_and_keeps_abbreviations_inside_them() -> None:
    abstract = "We follow Smith et al. in this. Results improve, e.g. by 5%. Third one. Fourth."
    assert excerpt(abstract) == "We follow Smith et al. in this. Results improve, e.g. by 5%."
    assert excerpt("Accuracy rises to 0.93 on U.S. data. It holds. Later.", sentences=1) == (
        "Accuracy rises to 0.93 on U.S. data."
    )


def test_excerpt_drops_a_second_sentence_that_would_pass_the_limit() -> None:
    first = "A short first sentence."
    assert excerpt(f"{first} {'long ' * 80}end.", limit=120) == first


def test_excerpt_of_one_long_sentence_ends_between_words() -> None:
    cut = excerpt("word " * 200)
    assert cut.endswith("word…") and len(cut) <= EXCERPT_MAX


def test_subject_names_the_day_two_themes_and_how_many_more() -> None:
    themes = ("reward models", "DPO", "agents", "RLHF", "evals")
    assert digest_subject(DAY, themes) == "Your papers for Tue 24 Nov: reward models, DPO +3"
    assert digest_subject(DAY, ("agents",)) == "Your papers for Tue 24 Nov: agents"
    assert digest_subject(DAY, ()) == "Your papers for Tue 24 Nov"
    assert digest_subject(dt.date(2026, 3, 1), ()) == "Your papers for Sun 1 Mar"


def test_a_weekly_subject_and_header_speak_of_the_week() -> None:
    assert digest_subject(dt.date(2026, 11, 29), ("agents",), weekly=True) == (
        "Your papers for the week of 23–29 Nov: agents"
    )
    assert digest_period(dt.date(2026, 12, 3), weekly=True) == "the week of 27 Nov – 3 Dec"
    assert format_week(dt.date(2027, 1, 2)) == "27 Dec 2026 – 2 Jan 2027"


def test_subject_stays_short_and_on_one_line() -> None:
    subject = digest_subject(DAY, ("a very long\ntheme " * 20, "second"))
    assert len(subject) <= 120 and "\n" not in subject
    assert subject.startswith("Your papers for Tue 24 Nov: a very long theme")
