"""Canonical identity: every spelling of one paper gives one key."""

from __future__ import annotations

import pytest

from digest.ingest.ids import (
    normalize_doi,
    normalized_title,
    paper_key,
    parse_arxiv_id,
    resolve_paper_link,
)
from digest.models import FeedItem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2604.22002", ("2604.22002", None)),
        ("2604.22002v3", ("2604.22002", 3)),
        ("0704.0001", ("0704.0001", None)),
        ("1412.9999v2", ("1412.9999", 2)),
        ("arXiv:2604.22002v1", ("2604.22002", 1)),
        ("ARXIV: 2604.22002", ("2604.22002", None)),
        ("oai:arXiv.org:2604.22002v1", ("2604.22002", 1)),
        ("https://arxiv.org/abs/2604.22002v2", ("2604.22002", 2)),
        ("http://export.arxiv.org/abs/2604.22002", ("2604.22002", None)),
        ("https://www.arxiv.org/pdf/2604.22002v1.pdf", ("2604.22002", 1)),
        ("https://arxiv.org/pdf/2604.22002", ("2604.22002", None)),
        ("https://arxiv.org/html/2604.22002v4/", ("2604.22002", 4)),
        ("http://rss.arxiv.org/abs/2604.22002?context=cs", ("2604.22002", None)),
        ("10.48550/arXiv.2604.22002", ("2604.22002", None)),
        ("https://doi.org/10.48550/ARXIV.2604.22002", ("2604.22002", None)),
        ("doi:10.48550/arxiv.2604.22002", ("2604.22002", None)),
        ("  2604.22002  ", ("2604.22002", None)),
    ],
)
def test_parse_arxiv_id_accepts_new_style_spellings(
    text: str, expected: tuple[str, int | None]
) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("arXiv:astro-ph/0601001", ("astro-ph/0601001", None)),
        ("http://arxiv.org/abs/astro-ph/0601001v1", ("astro-ph/0601001", 1)),
        ("https://arxiv.org/pdf/cond-mat/0703470v2.pdf", ("cond-mat/0703470", 2)),
    ],
)
def test_parse_arxiv_id_accepts_old_style_ids_without_subject_class(
    text: str, expected: tuple[str, int | None]
) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "0000.0000",  # month 00
        "2613.00001",  # month 13
        "0703.0001",  # before new-style ids existed
        "0808.05394",  # five digits before 2015
        "2604.2200",  # four digits after 2015
        "2604.22002v0",
        "arXiv:2604.22002v1 Announce Type: new",
        "https://example.org/abs/2604.22002",
        "10.1038/s41586-024-07811-4",
    ],
)
def test_parse_arxiv_id_rejects_junk(text: str) -> None:
    assert parse_arxiv_id(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1038/s41586-024-07811-4", "10.1038/s41586-024-07811-4"),
        ("doi:10.1038/S41586-024-07811-4", "10.1038/s41586-024-07811-4"),
        ("https://doi.org/10.1038/s41586-024-07811-4.", "10.1038/s41586-024-07811-4"),
        ("http://dx.doi.org/10.1101/2025.04.11.648403", "10.1101/2025.04.11.648403"),
        ("https://doi.org/10.1000%2Fabc", "10.1000/abc"),
        ("(10.1000/xyz);", "10.1000/xyz"),
        ("10.1016/0370-2693(80)90303-X", "10.1016/0370-2693(80)90303-x"),
    ],
)
def test_normalize_doi_strips_prefixes_case_and_trailing_punctuation(
    text: str, expected: str
) -> None:
    assert normalize_doi(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "10.1038/s41586-024-\u200b07811-4",
        "\ufeff10.1038/s41586-024-07811-4\u00ad",
        "\u202a10.1038/s41586-024-07811-4\u202c",
        "\u2066doi:10.1038/s41586-024-07811-4\u2069",
        "１０.１０３８/ｓ41586-024-07811-4",
        "<b>10.1038/s41586-024-07811-4</b>",
        "&lt;i&gt;10.1038/s41586-024-07811-4&lt;/i&gt;",
        "info:doi/10.1038/s41586-024-07811-4",
        "DOI 10.1038/S41586-024-07811-4",
    ],
)
def test_normalize_doi_removes_markup_invisible_characters_and_nfkc_forms(text: str) -> None:
    assert normalize_doi(text) == "10.1038/s41586-024-07811-4"


def test_normalize_doi_keeps_the_angle_brackets_of_a_sici_doi() -> None:
    sici = "10.1002/(SICI)1097-4636(199706)35:4<479::AID-JBM8>3.0.CO;2-H"
    assert normalize_doi(sici) == sici.lower()


@pytest.mark.parametrize(
    "text",
    [
        "2604.\u200b22002v2",
        "\ufeffarXiv:2604.22002v2",
        "\u200e2604.22002v2\u200f",
        "２６０４.２２００２v2",
        "<i>arXiv:2604.22002v2</i>",
        "https://arxiv.org/abs/2604.22002v2\u2069",
    ],
)
def test_parse_arxiv_id_removes_markup_invisible_characters_and_nfkc_forms(text: str) -> None:
    assert parse_arxiv_id(text) == ("2604.22002", 2)


def test_resolve_paper_link_reads_a_link_with_invisible_characters() -> None:
    link = "https://arxiv.org\u200b/abs/2604.22002"
    assert resolve_paper_link(link) == ("2604.22002", None)


def test_a_soft_hyphen_does_not_change_a_title_key() -> None:
    assert normalized_title("Trans\u00adformers") == normalized_title("Transformers")


@pytest.mark.parametrize("text", ["nope", "10.12/x", "11.1234/x", "10.1234/", "10.1234/a b"])
def test_normalize_doi_rejects_non_dois(text: str) -> None:
    assert normalize_doi(text) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arxiv.org/abs/2604.22002v1", ("2604.22002", None)),
        ("https://huggingface.co/papers/2604.21003", ("2604.21003", None)),
        ("https://www.alphaxiv.org/abs/2604.22002", ("2604.22002", None)),
        ("https://www.alphaxiv.org/overview/2604.22002v2", ("2604.22002", None)),
        ("https://tldr.takara.ai/p/2604.26238", ("2604.26238", None)),
        ("https://www.semanticscholar.org/arxiv/2103.14030", ("2103.14030", None)),
        ("https://doi.org/10.48550/arXiv.2604.22002", ("2604.22002", None)),
        ("https://doi.org/10.1038/nature12373", (None, "10.1038/nature12373")),
        (
            "https://www.biorxiv.org/content/10.1101/2025.04.11.648403v2",
            (None, "10.1101/2025.04.11.648403"),
        ),
        (
            "https://www.medrxiv.org/content/10.64898/2026.05.07.26352693v2.full.pdf",
            (None, "10.64898/2026.05.07.26352693"),
        ),
        ("https://www.biorxiv.org/content/10.1101/123456v1.abstract", (None, "10.1101/123456")),
    ],
)
def test_resolve_paper_link_finds_the_paper(
    url: str, expected: tuple[str | None, str | None]
) -> None:
    assert resolve_paper_link(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://news.ycombinator.com/item?id=46259064",
        "https://github.com/mozilla-ai/llamafile",
        "https://huggingface.co/models",
        "https://arxiv.org/list/cs.CL/recent",
        "javascript:alert('https://arxiv.org/abs/2604.22002')",
        "ftp://arxiv.org/abs/2604.22002",
        "not a url",
        "",
    ],
)
def test_resolve_paper_link_ignores_links_that_are_not_papers(url: str) -> None:
    assert resolve_paper_link(url) == (None, None)


def test_normalized_title_folds_case_accents_and_punctuation() -> None:
    assert normalized_title("  Étude: the  NAÏVE Bayes—Model! ") == "etude the naive bayes model"


def test_paper_key_prefers_arxiv_id() -> None:
    item = FeedItem(title="T", arxiv_id="2604.22002", doi="10.1038/x")
    assert paper_key(item) == "arxiv:2604.22002"


def test_paper_key_turns_an_arxiv_doi_into_the_arxiv_key() -> None:
    item = FeedItem(title="T", doi="10.48550/arxiv.2604.22002")
    assert paper_key(item) == "arxiv:2604.22002"


def test_paper_key_uses_doi_without_arxiv_id() -> None:
    assert paper_key(FeedItem(title="T", doi="10.1038/s41586-024-07811-4")) == (
        "doi:10.1038/s41586-024-07811-4"
    )


def test_paper_key_falls_back_to_title_and_first_author_surname() -> None:
    item = FeedItem(title="Deep Learning, Again!", authors=("Yann A. LeCun", "Someone Else"))
    assert paper_key(item) == "title:deep learning again|lecun"


def test_paper_key_reads_surname_first_author_names() -> None:
    item = FeedItem(title="Sound shapes", authors=("Loconsole, M.", "Xue, C."))
    assert paper_key(item) == "title:sound shapes|loconsole"


def test_paper_key_is_at_most_255_characters() -> None:
    item = FeedItem(title="word " * 1000, authors=("A " + "b" * 1000,))
    assert len(paper_key(item)) <= 255
    assert len(paper_key(FeedItem(title="T", doi="10.1234/" + "x" * 230))) <= 255
