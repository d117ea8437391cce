"""The email renderer: real papers from a fixture in, both parts checked for content and safety."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.models import Digest
from digest.render.renderer import EmailRenderer
from digest.render.text import safe_url, shorten_authors
from tests.unit.render_support import DAY, PAPERS, TOPICS, make_digest, make_links

HOSTILE_TITLE = "<script>alert(1)</script> Attention"
HOSTILE_AUTHOR = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer(
        list_name="Papers digest",
        postal_address="Digest Ltd, 1 Example Street, Springfield",
        base_url="https://digest.example",
    )


class Elements(HTMLParser):
    """Every start tag with its attributes, for checks on the HTML part."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def hrefs(self) -> list[str]:
        return [a["href"] or "" for tag, a in self.tags if tag == "a" and "href" in a]


def test_papers_are_grouped_by_topic_in_order_of_best_pick(renderer: EmailRenderer) -> None:
    email = renderer.render_digest(make_digest(), make_links(make_digest()))
    for part in (email.html, email.text):
        positions = [part.index(t) for t in ("agents", "reward models", "LLM evaluation")]
        assert positions == sorted(positions)
        agents = part.index(PAPERS[0].title.split(":")[0])
        third = part.index(PAPERS[2].title.split(":")[0])
        second = part.index(PAPERS[1].title.split(":")[0])
        assert agents < third < second  # papers 1 and 3 share the first topic


def test_digest_shows_shortened_authors(renderer: EmailRenderer) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    expected = shorten_authors(PAPERS[0].authors)
    assert expected in email.text and expected in email.html


def test_reasons_and_every_link_appear_in_both_parts(renderer: EmailRenderer) -> None:
    digest = make_digest()
    links = make_links(digest)
    email = renderer.render_digest(digest, links)
    hrefs = Elements(email.html).hrefs()
    for pick in digest.picks:
        paper = pick.paper
        urls = [paper.url, paper.pdf_url, *links.feedback[paper.id]]
        urls += [paper.code_url] if paper.code_url else []
        for url in urls:
            assert url in hrefs and url in email.text
        assert " · ".join(pick.reasons) in email.text
        assert " · ".join(pick.reasons) in unescape(email.html)  # ASCII, with references
    for url in (links.manage, links.unsubscribe, links.archive):
        assert url in hrefs and url in email.text
    assert "More like this" in email.html and "Less like this" in email.html


def test_overflow_lines_link_to_the_archive(renderer: EmailRenderer) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    assert "+4 more on agents: https://digest.example/archive/2026-11-24" in email.text
    assert re.search(  # beside the section's heading, saying on what in its title
        r'agents <a [^>]*href="https://digest.example/archive/[^"]*"[^>]*'
        r'title="4 more papers on agents"[^>]*>\+4 more</a></h2>',
        email.html,
    )


def test_a_topic_without_a_pick_gets_no_section(renderer: EmailRenderer) -> None:
    digest = make_digest()  # "robotics" has 2 papers left over and none shown
    email = renderer.render_digest(digest, make_links(digest))
    assert "robotics" not in email.text and "robotics" not in email.html


def test_footer_says_why_and_where_to_change_it(renderer: EmailRenderer) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    for part in (email.html, email.text):
        assert "Digest Ltd, 1 Example Street, Springfield" in part
        assert "Papers digest" in part
    assert "subscribed to Papers digest for reward models, LLM evaluation, agents" in email.html


def hostile_digest() -> Digest:
    paper = replace(
        PAPERS[0],
        title=HOSTILE_TITLE,
        authors=(HOSTILE_AUTHOR, "Eve <eve@evil>"),
        categories=("<b>cs.CL</b>",),
        abstract="Harmless start. <iframe src=//evil></iframe> More.",
        url="javascript:alert(1)",
        pdf_url=" JAVASCRIPT:alert(2)",
        code_url="data:text/html,<script>alert(3)</script>",
    )
    digest = make_digest([paper, *PAPERS[1:3]])
    pick = replace(
        digest.picks[0], topic='<a href="javascript:x">t</a>', reasons=(HOSTILE_AUTHOR, "<u>x</u>")
    )
    return replace(digest, picks=(pick, *digest.picks[1:]), themes=("<svg onload=alert(4)>",))


def test_feed_strings_are_escaped_in_html(renderer: EmailRenderer) -> None:
    digest = hostile_digest()
    email = renderer.render_digest(digest, make_links(digest))
    tags = {tag for tag, _ in Elements(email.html).tags}
    assert not tags & {"script", "img", "iframe", "svg", "b", "u"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in email.html
    assert HOSTILE_TITLE in email.text  # the text part shows it literally, harmlessly


def test_non_http_urls_never_become_links(renderer: EmailRenderer) -> None:
    digest = hostile_digest()
    email = renderer.render_digest(digest, make_links(digest))
    hrefs = Elements(email.html).hrefs()
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)
    assert "alert(2)" not in email.text and "alert(3)" not in email.text
    assert "Abstract: javascript" not in email.text
    assert safe_url("HTTPS://arxiv.org/abs/1") == "HTTPS://arxiv.org/abs/1"
    assert safe_url("https:evil") is None


def test_every_classed_element_has_inline_style(renderer: EmailRenderer) -> None:
    digest = make_digest()
    emails = [
        renderer.render_digest(digest, make_links(digest)),
        renderer.render_nothing(digest.subscriber, DAY, make_links(digest)),
        renderer.render_confirm("ada@example.org", "https://digest.example/confirm/t", TOPICS),
        renderer.render_welcome(digest.subscriber, make_links(digest)),
        renderer.render_preferences_changed(digest.subscriber, make_links(digest)),
    ]
    for email in emails:
        classed = [(tag, a) for tag, a in Elements(email.html).tags if "class" in a]
        assert classed
        for tag, attrs in classed:
            assert attrs.get("style"), f"<{tag} class={attrs['class']}> has no inline style"


def test_html_is_self_contained_and_mail_client_ready(renderer: EmailRenderer) -> None:
    digest = make_digest()
    html = renderer.render_digest(digest, make_links(digest)).html
    tags = Elements(html).tags
    assert not [t for t, a in tags if t in ("script", "img", "link", "iframe")]
    metas = {a.get("name"): a.get("content") for t, a in tags if t == "meta"}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"
    assert "width=device-width" in (metas["viewport"] or "")
    assert "max-width: 600px" in html
    assert "prefers-color-scheme: dark" in html


def test_digest_of_ten_long_papers_stays_under_100_kb(renderer: EmailRenderer) -> None:
    long_papers = [replace(p, abstract=p.abstract * 8, title=p.title * 2) for p in PAPERS[:10]]
    digest = make_digest(long_papers)
    email = renderer.render_digest(digest, make_links(digest))
    assert len(email.html.encode("utf-8")) < 100_000
    assert len(email.text.encode("utf-8")) < 100_000


def test_text_part_lines_are_wrapped(renderer: EmailRenderer) -> None:
    digest = make_digest()
    email = renderer.render_digest(digest, make_links(digest))
    for line in email.text.splitlines():
        assert len(line) <= 998
        if "://" not in line:
            assert len(line) <= 78, line


def test_account_emails_carry_their_links(renderer: EmailRenderer) -> None:
    digest = make_digest()
    links = make_links(digest)
    subscriber = digest.subscriber
    confirm = renderer.render_confirm("ada@example.org", "https://digest.example/confirm/t", TOPICS)
    assert "https://digest.example/confirm/t" in Elements(confirm.html).hrefs()
    assert "https://digest.example/confirm/t" in confirm.text
    assert "ada@example.org" in confirm.text and "agents" in confirm.html
    assert "Confirm" in confirm.subject
    for email in (
        renderer.render_nothing(subscriber, DAY, links),
        renderer.render_welcome(subscriber, links),
        renderer.render_preferences_changed(subscriber, links),
    ):
        assert links.manage in Elements(email.html).hrefs() and links.manage in email.text
        assert links.unsubscribe in Elements(email.html).hrefs()
        assert links.unsubscribe in email.text
        assert "reward models" in email.text
    nothing = renderer.render_nothing(subscriber, DAY, links)
    assert "Tue 24 Nov" in nothing.subject and links.archive in nothing.text


def test_a_ten_paper_digest_renders_in_about_a_millisecond(renderer: EmailRenderer) -> None:
    digest = make_digest()
    links = make_links(digest)
    renderer.render_digest(digest, links)
    start = time.perf_counter()
    for _ in range(50):
        renderer.render_digest(digest, links)
    assert (time.perf_counter() - start) / 50 < 0.005  # generous for slow CI machines


def test_styles_are_inlined_once_when_templates_load(tmp_path: Path) -> None:
    import shutil

    from digest.resources import templates_dir

    shutil.copytree(templates_dir() / "email", tmp_path / "email")
    css = tmp_path / "email" / "email.css"
    css.write_text(css.read_text("utf-8") + "\n.heading { color: #123456; }\n", "utf-8")
    renderer = EmailRenderer(
        list_name="L", postal_address="P", base_url="https://x.example", templates=tmp_path
    )
    css.write_text("", "utf-8")  # later edits do not matter: the styles are in the templates
    email = renderer.render_confirm("a@example.org", "https://x.example/c", ())
    assert re.search(r'<h1 class="heading" style="[^"]*color: #123456', email.html)
