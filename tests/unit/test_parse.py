"""parse_feed on real feed files (golden values) and on hostile documents."""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc
from pathlib import Path

import pytest

from digest.errors import FeedError
from digest.ingest.parse import parse_feed
from digest.ingest.sanitize import clean_text
from digest.models import FeedItem, ParsedFeed

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = dt.datetime(2026, 8, 10, 12, 0, tzinfo=dt.UTC)


def parse(relative: str, now: dt.datetime = NOW) -> ParsedFeed:
    return parse_feed((FIXTURES / relative).read_bytes(), source_url=relative, now=now)


def text_fields(item: FeedItem) -> list[str]:
    return [item.title, item.abstract, *item.authors, *item.categories]


# arXiv listing -------------------------------------------------------------------------------

CS_CL = "arxiv-rss/cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"


def test_arxiv_listing_gives_one_item_per_entry() -> None:
    feed = parse(CS_CL)
    assert feed.kind == "arxiv-rss"
    assert [item.arxiv_id for item in feed.items] == ["2604.22002", "2604.22027", "2604.22038"]


def test_arxiv_listing_reads_version_and_announce_type_from_description() -> None:
    item = parse(CS_CL).items[0]
    assert (item.version, item.announce_type) == (1, "new")


def test_arxiv_listing_abstract_drops_the_announcement_preamble() -> None:
    abstract = parse(CS_CL).items[0].abstract
    assert abstract.startswith("Social media platforms have become primary channels")
    assert "Announce Type" not in abstract


def test_arxiv_listing_splits_dc_creator_into_authors() -> None:
    assert parse(CS_CL).items[0].authors == (
        "Anamta Khan",
        "Ratna Kandala",
        "Deepti",
        "Sheza Munir",
        "Joyojeet Pal",
    )


def test_arxiv_listing_keeps_all_categories() -> None:
    assert parse(CS_CL).items[1].categories == ("cs.CL", "cs.AI", "cs.LG")


def test_arxiv_listing_dates_are_aware_utc() -> None:
    assert parse(CS_CL).items[0].published == dt.datetime(2026, 4, 27, 4, 0, tzinfo=dt.UTC)


def test_arxiv_listing_builds_unversioned_abstract_and_pdf_urls() -> None:
    """Unversioned: arXiv serves the newest version, so an email's link stays right after a v2."""
    item = parse(CS_CL).items[0]
    assert (item.url, item.version) == ("https://arxiv.org/abs/2604.22002", 1)
    assert item.pdf_url == "https://arxiv.org/pdf/2604.22002"


def test_arxiv_listing_title_is_the_feed_title() -> None:
    assert parse(CS_CL).title == "cs.CL updates on arXiv.org"


@pytest.mark.parametrize(
    "name",
    ["arxiv-rss/cs-2026-03-29-sunday-empty.xml", "arxiv-rss/atom-cs-2025-11-23-sunday-empty.xml"],
)
def test_empty_arxiv_listing_is_an_empty_announcement(name: str) -> None:
    feed = parse(name)
    assert (feed.kind, feed.items, feed.empty_announcement) == ("arxiv-rss", (), True)


def test_listing_with_items_is_not_an_empty_announcement() -> None:
    assert parse(CS_CL).empty_announcement is False


# arXiv API -----------------------------------------------------------------------------------

API_20 = "arxiv-api/2026_search-cat-cs.LG-OR-cs.AI_max20.xml"


def test_arxiv_api_reads_every_entry() -> None:
    feed = parse(API_20)
    assert (feed.kind, len(feed.items)) == ("arxiv-api", 20)


def test_arxiv_api_reads_id_version_authors_and_primary_category_first() -> None:
    item = parse(API_20).items[0]
    assert (item.arxiv_id, item.version) == ("2604.26951", 1)
    assert item.authors[:4] == ("Gongbo Zhang", "Wen Wang", "Ye Tian", "Li Yuan")
    assert item.categories == ("cs.CL", "cs.AI", "cs.LG")


def test_arxiv_api_reads_pdf_link_dates_and_code_link_from_comment() -> None:
    item = parse(API_20).items[0]
    assert item.pdf_url == "https://arxiv.org/pdf/2604.26951"  # not the entry's versioned link
    assert item.published == dt.datetime(2026, 4, 29, 17, 59, 1, tzinfo=dt.UTC)
    assert item.code_url == "https://github.com/PKU-YuanGroup/TIDE"


def test_arxiv_api_journal_doi_becomes_item_doi() -> None:
    item = parse("arxiv-api/legacy-2016_search-au-del_maestro.xml").items[0]
    assert (item.arxiv_id, item.doi) == ("1201.4869", "10.1142/s021797921244002x")


def test_arxiv_api_reads_old_style_ids() -> None:
    item = parse("arxiv-api/2026_id_astro-ph_0601001_s0_m100_3150dca9dc76.body.xml").items[0]
    assert (item.arxiv_id, item.version, item.categories) == ("astro-ph/0601001", 1, ("astro-ph",))


def test_arxiv_api_summary_keeps_less_than_signs_as_text() -> None:
    item = parse("arxiv-api/2026_id_astro-ph_0601001_s0_m100_3150dca9dc76.body.xml").items[0]
    assert "V_max<17.5" in item.abstract


def test_arxiv_api_error_entry_is_dropped_with_its_message() -> None:
    feed = parse("arxiv-api/2026_id_abc_s0_m100_b79c8dcf6bc3.body.xml")
    assert feed.items == ()
    assert [(d.reason, d.detail) for d in feed.dropped] == [
        ("arXiv API error", "incorrect id format for abc")
    ]


def test_arxiv_api_with_no_results_is_an_empty_feed() -> None:
    feed = parse("arxiv-api/2026_id_0000.0000_s0_m100_8b51d9633a68.body.xml")
    assert (feed.kind, feed.items, feed.dropped, feed.empty_announcement) == (
        "arxiv-api",
        (),
        (),
        False,
    )


# Hugging Face, Takara, bioRxiv, journals, Semantic Scholar -------------------------------------


def test_hf_daily_json_gives_thirty_mentions_with_upvotes() -> None:
    feed = parse("hf-daily-papers/api-daily_papers-2026-06-13_sotawhat.json")
    assert (feed.kind, len(feed.items)) == ("hf-daily", 30)
    assert all(item.is_mention for item in feed.items)
    assert max(item.weight for item in feed.items) == 118.0


def test_hf_daily_json_mention_still_carries_the_paper() -> None:
    item = parse("hf-daily-papers/api-daily_papers-2026-06-13_sotawhat.json").items[1]
    assert item.arxiv_id == "2606.12730"
    assert item.title.startswith("Rethinking Psychometric Evaluation of LLMs")
    assert item.authors[0] == "Rafal Kocielnik"
    assert item.abstract.startswith("Anticipating LLM behavioral tendencies")
    assert item.weight == 5.0
    assert item.code_url == "https://github.com/psychology-of-AI/Rethinking-Pyschometric-Eval-LLMs"
    assert item.mention_url == "https://huggingface.co/papers/2606.12730"


def test_hf_rss_mirror_reads_upvotes_authors_and_summary_from_description() -> None:
    feed = parse("hf-daily-papers/rss-hf-daily-papers-feedgen-2026-04-30.xml")
    assert (feed.kind, len(feed.items)) == ("hf-daily", 22)
    item = feed.items[0]
    assert (item.arxiv_id, item.is_mention, item.weight) == ("2604.21003", True, 1.0)
    assert item.authors == ("Haebin Seong", "Li Yin", "Haoran Zhang")
    assert item.abstract.startswith("AI agents are increasingly deployed")
    assert "Upvotes" not in item.abstract
    assert max(i.weight for i in feed.items) == 123.0


def test_takara_tldr_entries_are_papers_not_mentions() -> None:
    feed = parse("hf-daily-papers/rss-takara-tldr-2026-04-30.xml")
    assert len(feed.items) == 50
    item = feed.items[0]
    assert (item.arxiv_id, item.is_mention) == ("2604.26238", False)
    assert item.abstract.startswith("3D Gaussian Splatting (3DGS)")


def test_biorxiv_details_give_dois_with_versions() -> None:
    feed = parse("biorxiv-medrxiv/biorxiv-api-details-2026-08-01_2026-08-05.json")
    assert (feed.kind, len(feed.items)) == ("biorxiv", 10)
    item = feed.items[2]
    assert (item.doi, item.version) == ("10.1101/2025.04.11.648403", 2)
    assert item.url == "https://www.biorxiv.org/content/10.1101/2025.04.11.648403v2"
    assert item.authors[:2] == ("Evans, T.", "Lee, Y.")
    assert item.categories == ("systems biology",)


def test_medrxiv_details_link_to_medrxiv() -> None:
    item = parse("biorxiv-medrxiv/medrxiv-api-details-2026-08-01_2026-08-05.json").items[3]
    assert (item.doi, item.version) == ("10.64898/2025.12.05.25341712", 3)
    assert item.url is not None and item.url.startswith("https://www.medrxiv.org/content/")


def test_nature_feed_gives_dois_and_plain_titles() -> None:
    feed = parse("journals/nature-current-2024-07-18.rss")
    assert (feed.kind, len(feed.items)) == ("journal", 75)
    item = feed.items[0]
    assert item.doi == "10.1038/s41586-024-07811-4"
    assert item.title == "Catalysis of an SN2 pathway by geometric preorganization"
    assert item.authors == ("Gabriel J. Lovinger", "Marcus H. Sak", "Eric N. Jacobsen")
    assert item.published == dt.datetime(2024, 7, 18, tzinfo=dt.UTC)


def test_nature_feed_abstract_drops_the_publication_line() -> None:
    items = parse("journals/nature-current-2024-07-18.rss").items
    assert items[0].abstract == ""  # the teaser only repeated the title
    assert items[1].abstract.startswith("Inhibiting a protein associated with chronic inflammation")


def test_semantic_scholar_search_gives_arxiv_ids_and_dois() -> None:
    feed = parse("semantic-scholar/graph-paper-search-transformer.json")
    assert (feed.kind, len(feed.items)) == ("semantic-scholar", 5)
    assert (feed.items[0].arxiv_id, feed.items[0].doi) == (
        "2103.14030",
        "10.1109/iccv48922.2021.00986",
    )


# Link sites: mentions ------------------------------------------------------------------------


def test_hacker_news_front_page_without_paper_links_yields_only_drops() -> None:
    feed = parse("social/hn-frontpage-news.ycombinator.com-rss-2025-12-14.xml")
    assert (feed.kind, feed.items, len(feed.dropped)) == ("social", (), 30)
    assert {d.reason for d in feed.dropped} == {"no paper link"}


def test_reddit_atom_without_paper_links_yields_only_drops() -> None:
    feed = parse("social/reddit-r-pics-atom-2025-12-30.xml")
    assert (feed.items, [d.reason for d in feed.dropped]) == ((), ["no paper link"])


HN_WITH_PAPERS = b"""<rss version="2.0"><channel><title>Hacker News</title>
<link>https://news.ycombinator.com/</link>
<item><title>Shared Lexical Task Representations</title><link>https://arxiv.org/abs/2604.22027v1</link>
<comments>https://news.ycombinator.com/item?id=1</comments>
<description><![CDATA[<p>Points: 321</p><a href="https://news.ycombinator.com/item?id=1">Comments</a>]]></description></item>
<item><title>Show HN: my blog</title><link>https://blog.example.org/post</link>
<comments>https://news.ycombinator.com/item?id=2</comments>
<description><![CDATA[<a href="https://news.ycombinator.com/item?id=2">Comments</a>]]></description></item>
</channel></rss>"""


def test_hacker_news_entry_linking_a_paper_becomes_a_weighted_mention() -> None:
    feed = parse_feed(HN_WITH_PAPERS, now=NOW)
    [item] = feed.items
    assert (item.arxiv_id, item.is_mention, item.weight) == ("2604.22027", True, 321.0)
    assert item.mention_url == "https://news.ycombinator.com/item?id=1"
    assert [d.reason for d in feed.dropped] == ["no paper link"]


REDDIT_WITH_PAPER = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>MachineLearning</title><link rel="alternate" href="https://www.reddit.com/r/MachineLearning/"/>
<entry><id>t3_x</id><title>[R] Interesting paper</title>
<link href="https://www.reddit.com/r/MachineLearning/comments/x/r_interesting_paper/"/>
<content type="html">&lt;a href="https://www.biorxiv.org/content/10.1101/2025.04.11.648403v2"&gt;[link]&lt;/a&gt;</content>
<updated>2025-12-29T23:22:35+00:00</updated></entry></feed>"""


def test_reddit_entry_linking_a_preprint_in_its_content_becomes_a_mention() -> None:
    [item] = parse_feed(REDDIT_WITH_PAPER, now=NOW).items
    assert (item.doi, item.is_mention) == ("10.1101/2025.04.11.648403", True)
    assert (
        item.mention_url
        == "https://www.reddit.com/r/MachineLearning/comments/x/r_interesting_paper/"
    )


# Hostile documents ---------------------------------------------------------------------------


def test_script_and_event_handlers_never_survive_in_text_fields() -> None:
    feed = parse("hostile/arxiv-listing-script-injection.xml", now=NOW)
    for item in feed.items:
        for text in text_fields(item):
            lowered = text.lower()
            assert "<script" not in lowered and "alert(" not in lowered
            assert "onerror" not in lowered and "onclick" not in lowered and "<svg" not in lowered


def test_markup_is_stripped_but_math_less_than_stays_readable() -> None:
    item = parse("hostile/arxiv-listing-script-injection.xml").items[0]
    assert item.title == "Attacks on $x<y$ and bold claims"
    assert item.abstract == r"We show that $\alpha < \beta$ when a<b. Click Done & dusted."


def test_hostile_authors_and_categories_are_plain_text() -> None:
    item = parse("hostile/arxiv-listing-script-injection.xml").items[0]
    assert item.authors == ("Mallory Evil", "Alice Bold", "Bob")
    assert item.categories == ("cs.CR", "cs.AI")


def test_double_escaped_markup_is_stripped_and_entities_decode_once() -> None:
    item = parse("hostile/arxiv-listing-script-injection.xml").items[1]
    assert item.title == "Double escaped title"
    assert item.abstract == "Entities &lt;i&gt; stay text once decoded."


def test_javascript_and_data_links_never_become_urls() -> None:
    feed = parse("hostile/rss-script-injection.xml")
    for item in feed.items:
        for url in (item.url, item.pdf_url, item.code_url, item.mention_url):
            assert url is None or url.startswith(("http://", "https://"))
    mention = feed.items[1]
    assert (mention.arxiv_id, mention.is_mention, mention.mention_url) == ("2604.22027", True, None)


def test_javascript_href_wrapping_a_paper_url_is_not_a_paper_link() -> None:
    feed = parse("hostile/rss-script-injection.xml")
    assert [d.reason for d in feed.dropped] == ["no paper link"]


@pytest.mark.parametrize(
    "name", ["hostile/billion-laughs.xml", "hostile/quadratic-blowup-tricky-dtd.xml"]
)
def test_entity_expansion_is_refused_quickly_and_cheaply(name: str) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        feed = parse(name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 2.0
    assert peak < 20_000_000
    assert feed.warning is not None and "ENTITY" in feed.warning
    assert [item.arxiv_id for item in feed.items] in (["2604.26238"], ["2604.22002"])
    assert all(len(item.title) < 100 for item in feed.items)


def test_external_entities_are_never_read() -> None:
    feed = parse("hostile/quadratic-blowup-tricky-dtd.xml")
    assert all("root:" not in text for item in feed.items for text in text_fields(item))


def test_absurd_dates_become_none_and_nothing_else_is_lost() -> None:
    items = {item.title: item for item in parse("hostile/bad-dates.xml", now=NOW).items}
    assert len(items) == 5
    assert items["Published in 1900"].published is None
    assert items["Published in 1900"].updated == dt.datetime(2026, 4, 29, 10, tzinfo=dt.UTC)
    assert (items["Published in 3000"].published, items["Published in 3000"].updated) == (
        None,
        None,
    )
    assert items["Published on no date at all"].published is None
    assert items["Published at year zero"].published is None
    assert items["Published in 3000"].abstract == "Too late."


def test_dates_more_than_two_days_ahead_of_now_are_dropped() -> None:
    early_now = dt.datetime(2026, 4, 27, tzinfo=dt.UTC)
    items = {item.title: item for item in parse("hostile/bad-dates.xml", now=early_now).items}
    assert items["Published with an offset"].published is None


def test_dates_with_offsets_are_converted_to_utc() -> None:
    items = {item.title: item for item in parse("hostile/bad-dates.xml").items}
    assert items["Published with an offset"].published == dt.datetime(2026, 4, 30, tzinfo=dt.UTC)


def test_missing_updated_date_is_not_copied_from_published() -> None:
    items = {item.title: item for item in parse("hostile/bad-dates.xml").items}
    assert items["Published with an offset"].updated is None


def test_duplicate_arxiv_ids_collapse_to_the_highest_version() -> None:
    feed = parse("hostile/duplicate-ids.xml")
    assert [(item.arxiv_id, item.version) for item in feed.items] == [
        ("2604.50001", 3),
        ("2604.50002", 1),
    ]
    assert feed.items[0].title == "Repeated paper, third version"


def test_duplicate_mentions_keep_the_highest_weight() -> None:
    feed = parse("hostile/duplicate-upvotes.json")
    twice = feed.items[0]
    assert (twice.arxiv_id, twice.version, twice.weight) == ("2606.00467", 2, 17.0)


def test_malformed_json_records_are_dropped_with_reasons() -> None:
    feed = parse("hostile/duplicate-upvotes.json")
    assert [item.arxiv_id for item in feed.items] == ["2606.00467", "2606.00468"]
    assert feed.items[1].weight == 0.0  # negative upvotes are nonsense, not a penalty
    assert sorted(d.reason for d in feed.dropped) == ["missing title", "no arXiv id", "no arXiv id"]


def test_entries_without_id_or_title_are_dropped_with_reasons() -> None:
    feed = parse("hostile/missing-ids-and-titles.xml")
    assert [item.arxiv_id for item in feed.items] == ["2604.60004"]
    assert [d.reason for d in feed.dropped] == ["no arXiv id", "missing title", "missing title"]


def test_declared_latin1_encoding_is_decoded() -> None:
    feed = parse("hostile/latin1-declared.xml")
    assert feed.title == "Revue française"
    assert feed.items[0].title == "Étude des réseaux naïfs"
    assert feed.items[0].abstract == "Résumé à lire, coût 5 £."


def test_wrongly_declared_encoding_keeps_items_and_warns() -> None:
    feed = parse("hostile/utf8-declared-latin1-bytes.xml")
    assert feed.items[0].arxiv_id == "2604.26238"
    assert feed.warning is not None and "windows-1252" in feed.warning


def test_truncated_document_keeps_what_parsed_and_warns() -> None:
    feed = parse("hostile/truncated.xml")
    assert feed.items[0].title == "Complete item"
    assert feed.warning is not None


def test_gigantic_fields_are_capped() -> None:
    item = parse("hostile/gigantic-fields.xml").items[0]
    assert len(item.title) == 1_000 and item.title.endswith("…")
    assert len(item.abstract) <= 20_000
    assert len(item.authors) == 200
    assert max(len(name) for name in item.authors) <= 300
    assert len(item.categories) == 50


def test_fifty_megabyte_abstract_is_capped_without_blowing_up() -> None:
    head = b'<rss version="2.0"><channel><title>Big</title><link>https://big.example/</link>'
    entry = b"<item><title>Big one</title><link>https://tldr.takara.ai/p/2604.26238</link>"
    body = b"<description>" + b"word " * 10_000_000 + b"</description></item></channel></rss>"
    started = time.monotonic()
    feed = parse_feed(head + entry + body, now=NOW)
    assert time.monotonic() - started < 30
    assert len(feed.items[0].abstract) == 20_000


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not an RSS, Atom or JSON feed"):
        parse("hostile/not-a-feed.html")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty document"),
        (b"   \n", "empty document"),
        (b"{not json", "unreadable JSON"),
        (b'{"esearchresult": {}}', "not a known paper feed"),
        (b"\x00\x01\x02binary", "not an RSS, Atom or JSON feed"),
        (b"[" * 100_000, "unreadable JSON"),
    ],
)
def test_documents_that_are_no_feed_raise_feed_error(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(data, now=NOW)


def test_pubmed_efetch_xml_is_not_a_feed() -> None:
    with pytest.raises(FeedError):
        parse("pubmed/efetch.xml")


# Sanitiser details ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>one</p><p>two</p>", "one two"),
        ("a &amp; b &lt; c", "a & b < c"),
        ("$a<b $c>d$", "$a<b $c>d$"),
        ("<style>x{}</style><iframe src=//e></iframe>ok", "ok"),
        ('cut <a href="', "cut"),
        ("x\u202eevil\x00y", "xevily"),
        ("   spaced \n\t out  ", "spaced out"),
    ],
)
def test_clean_text_gives_plain_readable_text(raw: str, expected: str) -> None:
    assert clean_text(raw, 100) == expected
