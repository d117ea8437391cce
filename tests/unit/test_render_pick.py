"""The compact pick and the header: what a reader scans first, in both parts of the email."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from html import unescape

import pytest

from digest.models import Digest
from digest.render.renderer import EmailRenderer
from tests.unit.render_support import PAPERS, make_digest, make_links

PUBLISHED = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer(
        list_name="Papers digest", postal_address="", base_url="https://digest.example"
    )


def revised_digest() -> Digest:
    """The first paper as a v2 with five authors; the second known by its DOI only."""
    first = replace(
        PAPERS[0],
        authors=("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "B. Liskov"),
        version=2,
        published=PUBLISHED,
        categories=("cs.LG", "cs.AI"),
    )
    second = replace(PAPERS[1], arxiv_id=None, doi="10.1000/xyz-1", published=None)
    digest = make_digest()
    picks = (replace(digest.picks[0], paper=first), replace(digest.picks[1], paper=second))
    return replace(digest, picks=picks + digest.picks[2:])


def plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_a_pick_shows_short_authors_id_primary_category_and_date_in_both_parts(
    renderer: EmailRenderer,
) -> None:
    digest = revised_digest()
    email = renderer.render_digest(digest, make_links(digest))
    meta = f"A. Lovelace, A. Turing et al. · arXiv:{PAPERS[0].arxiv_id} · cs.LG · 23 Nov 2026"
    assert meta in unescape(email.html)
    assert meta in " ".join(email.text.split())
    assert "doi:10.1000/xyz-1 · cs.CL" in unescape(email.html)
    assert "doi:10.1000/xyz-1 · cs.CL" in email.text


def test_a_revised_paper_carries_a_v2_badge_and_a_first_version_none(
    renderer: EmailRenderer,
) -> None:
    digest = revised_digest()
    email = renderer.render_digest(digest, make_links(digest))
    assert email.html.count('class="badge"') == 1
    assert re.search(r'<span class="badge"[^>]*>v2</span>', email.html)
    assert f"{PAPERS[0].title} [v2]" in " ".join(email.text.split())


def test_the_links_are_buttons_and_the_excerpt_is_at_most_two_sentences(
    renderer: EmailRenderer,
) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    buttons = re.findall(r'<a class="btn"[^>]*>([^<]+)</a>', email.html)
    assert buttons.count("Abstract") == buttons.count("More like this") == len(digest.picks)
    assert buttons.count("Less like this") == buttons.count("PDF") == len(digest.picks)
    excerpts = re.findall(r'<p class="excerpt"[^>]*>([^<]+)</p>', email.html)
    assert len(excerpts) == len(digest.picks)
    for text in excerpts:
        assert len(re.findall(r"[.!?](?:\s|$)", unescape(text))) <= 2 or text.endswith("…")


def test_the_header_counts_the_papers_and_names_themes_in_section_order(
    renderer: EmailRenderer,
) -> None:
    digest = replace(make_digest(), themes=("reward models", "LLM evaluation", "agents"))
    email = renderer.render_digest(digest, make_links(digest))
    header = "10 papers on agents · reward models · LLM evaluation"
    assert header in plain(email.html) and header in email.text
    sections = re.findall(r'<h2 class="topic"[^>]*>([^<]+?)\s*(?:<|$)', email.html)
    assert sections[:3] == ["agents", "reward models", "LLM evaluation"]
    assert email.subject == "Your papers for Tue 24 Nov: agents, reward models +1"


def test_view_in_browser_links_to_the_archive_copy(renderer: EmailRenderer) -> None:
    digest = make_digest()
    links = make_links(digest)
    email = renderer.render_digest(digest, links)
    assert re.search(rf'href="{re.escape(links.archive)}"[^>]*>View in browser</a>', email.html)
    assert f"View in browser: {links.archive}" in email.text


def test_a_weekly_digest_speaks_of_the_week_never_of_today(renderer: EmailRenderer) -> None:
    digest = make_digest()
    weekly = replace(digest, subscriber=replace(digest.subscriber, frequency="weekly"))
    email = renderer.render_digest(weekly, make_links(weekly))
    assert email.subject.startswith("Your papers for the week of 18–24 Nov")
    for part in (plain(email.html), email.text):
        assert "Your papers for the week of 18–24 Nov" in part
        assert "Today" not in part and "Tue 24 Nov" not in part
    nothing = renderer.render_nothing(weekly.subscriber, weekly.date, make_links(weekly))
    assert nothing.subject == "Nothing matched your topics for the week of 18–24 Nov"
    for part in (plain(nothing.html), nothing.text):
        assert "Nothing matched this week" in part and "next week" in part
        assert "today" not in part.lower() and "tomorrow" not in part


def test_without_a_postal_address_the_footer_has_no_line_for_it(renderer: EmailRenderer) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    footer = email.html[email.html.index('class="footer"') :]
    lines = re.findall(r'<p class="footer-text"[^>]*>(.*?)</p>', footer, re.S)
    assert len(lines) == 2 and all(line.strip() for line in lines)  # why, and manage links
    assert email.text.rstrip().endswith(f"Unsubscribe: {make_links(digest).unsubscribe}")


def test_the_text_part_numbers_the_picks_through_the_whole_email(renderer: EmailRenderer) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", email.text, re.MULTILINE)]
    assert numbers == list(range(1, len(digest.picks) + 1))
