"""Source shorthands, kind guessing, paging decisions and per-host pacing: pure functions."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from digest.errors import DigestError
from digest.ingest.fetch import HostPacer
from digest.ingest.kinds import guess_kind, resolve_source
from digest.ingest.paging import next_page_url

FIXTURES = Path(__file__).parent.parent / "fixtures"
API_PAGE = FIXTURES / "arxiv-api" / "2026_search-cat-cs.LG-OR-cs.AI_max20.xml"
BIORXIV = FIXTURES / "biorxiv-medrxiv" / "biorxiv-api-details-2026-08-01_2026-08-05.json"


def test_arxiv_shorthand_becomes_the_listing_feed_of_combined_categories() -> None:
    spec = resolve_source("arxiv:cs.AI+cs.LG")
    assert (spec.url, spec.kind, spec.name) == (
        "https://rss.arxiv.org/rss/cs.AI+cs.LG",
        "arxiv-rss",
        "arxiv:cs.AI+cs.LG",
    )


def test_arxiv_atom_shorthand_uses_the_atom_listing() -> None:
    assert resolve_source("arxiv-atom:cs.CL").url == "https://rss.arxiv.org/atom/cs.CL"


def test_arxiv_shorthand_refuses_something_that_is_no_category() -> None:
    with pytest.raises(DigestError, match="not an arXiv category list"):
        resolve_source("arxiv:cs.CL/../x")


def test_arxiv_api_shorthand_becomes_a_paged_query_newest_first() -> None:
    spec = resolve_source("arxiv-api:cat:cs.CL AND abs:reward")
    parts = urlsplit(spec.url)
    query = parse_qs(parts.query)
    assert (spec.kind, parts.hostname, parts.path) == (
        "arxiv-api",
        "export.arxiv.org",
        "/api/query",
    )
    assert query["search_query"] == ["cat:cs.CL AND abs:reward"]
    assert (query["start"], query["max_results"]) == (["0"], ["100"])
    assert query["sortBy"] == ["submittedDate"]


def test_biorxiv_and_medrxiv_shorthands_become_details_urls_at_cursor_zero() -> None:
    assert resolve_source("biorxiv:2026-08-01/2026-08-05").url == (
        "https://api.biorxiv.org/details/biorxiv/2026-08-01/2026-08-05/0"
    )
    assert resolve_source("medrxiv:7d").url == "https://api.medrxiv.org/details/medrxiv/7d/0"
    assert resolve_source("medrxiv:7d").kind == "biorxiv"


def test_biorxiv_shorthand_refuses_a_bad_interval() -> None:
    with pytest.raises(DigestError, match="needs an interval"):
        resolve_source("biorxiv:last week")


def test_hf_shorthand_is_the_daily_papers_api() -> None:
    spec = resolve_source("hf:daily")
    assert (spec.url, spec.kind) == ("https://huggingface.co/api/daily_papers", "hf-daily")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://rss.arxiv.org/atom/cs.CL", "arxiv-rss"),
        ("http://export.arxiv.org/api/query?search_query=all:electron", "arxiv-api"),
        ("https://api.medrxiv.org/details/medrxiv/2026-08-01/2026-08-05/0", "biorxiv"),
        ("https://huggingface.co/api/daily_papers", "hf-daily"),
        ("https://hnrss.org/newest?q=arxiv", "mentions"),
        ("https://www.reddit.com/r/MachineLearning/.rss", "mentions"),
        ("https://www.nature.com/nature.rss", "journal"),
        ("https://example.org/feed.xml", "rss"),
        ("/data/feeds/biorxiv-details.json", "biorxiv"),
        ("file:///data/feeds/hn-frontpage.xml", "mentions"),
    ],
)
def test_kind_is_guessed_from_the_url(url: str, kind: str) -> None:
    assert guess_kind(url) == kind


def test_an_explicit_kind_wins_over_the_guess() -> None:
    assert resolve_source("https://example.org/blog.xml", kind="mentions").kind == "mentions"


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(DigestError, match=r"unknown source kind 'podcast': use one of arxiv-rss"):
        resolve_source("https://example.org/feed.xml", kind="podcast")


def test_arxiv_api_next_page_starts_after_the_entries_read() -> None:
    url = "https://export.arxiv.org/api/query?search_query=cat%3Acs.LG&start=0&max_results=20"
    following = next_page_url("arxiv-api", url, API_PAGE.read_bytes())
    assert following is not None
    assert parse_qs(urlsplit(following).query)["start"] == ["20"]


def test_arxiv_api_short_page_is_the_last() -> None:
    url = "https://export.arxiv.org/api/query?search_query=cat%3Acs.LG&start=0&max_results=100"
    assert next_page_url("arxiv-api", url, API_PAGE.read_bytes()) is None


def test_biorxiv_next_page_moves_the_cursor_by_the_count() -> None:
    url = "https://api.biorxiv.org/details/biorxiv/2026-08-01/2026-08-05/0"
    assert next_page_url("biorxiv", url, BIORXIV.read_bytes()) == (
        "https://api.biorxiv.org/details/biorxiv/2026-08-01/2026-08-05/30"
    )


def test_biorxiv_last_cursor_has_no_next_page() -> None:
    document = json.loads(BIORXIV.read_bytes())
    document["messages"][0].update(cursor=870, count=3)
    url = "https://api.biorxiv.org/details/biorxiv/2026-08-01/2026-08-05/870"
    assert next_page_url("biorxiv", url, json.dumps(document).encode()) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_pacer_spaces_requests_to_one_host_but_not_to_different_hosts() -> None:
    clock = FakeClock()
    pacer = HostPacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait("https://a.example/feed1")
    pacer.wait("https://b.example/feed")
    clock.now += 0.25
    pacer.wait("https://a.example/feed2")
    assert clock.slept == [0.75]


def test_pacer_waits_three_seconds_between_arxiv_api_requests() -> None:
    clock = FakeClock()
    pacer = HostPacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait("https://export.arxiv.org/api/query?start=0")
    pacer.wait("https://export.arxiv.org/api/query?start=100")
    assert clock.slept == [3.0]


@pytest.mark.parametrize(
    "text",
    ["ftp://example.org/feed.xml", "javascript:alert(1)", "gopher:x", "http:///no-host.xml"],
)
def test_a_source_that_cannot_be_fetched_is_refused_when_added(text: str) -> None:
    with pytest.raises(DigestError):
        resolve_source(text)


def test_a_local_source_must_be_a_file_that_exists(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    with pytest.raises(DigestError, match="no such feed file"):
        resolve_source(str(feed))
    with pytest.raises(DigestError, match="no such feed file"):
        resolve_source(feed.as_uri())
    feed.write_text("<rss/>")
    assert resolve_source(str(feed)).url == str(feed)
    assert resolve_source(feed.as_uri()).url == feed.as_uri()
