"""Titles and abstracts reach the store as plain text, whichever parser read them.

Each hostile value is put into a real feed file of every flavour (arXiv API and listing, a
journal's RSS, Hugging Face daily, bioRxiv and Semantic Scholar JSON) as the field's own text,
and must come out with its tags gone, its words kept and its entities decoded once.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from digest.ingest.parse import parse_feed

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = dt.datetime(2026, 8, 6, tzinfo=dt.UTC)

MARKUP = [
    ("<svg/onload=alert(1)>Plain words", "Plain words"),
    ("<img/src/onerror=alert(1)>Plain words", "Plain words"),
    ('<img src="x"onerror="alert(1)">Plain words', "Plain words"),
    ("<img src=x @click=y onerror=alert(1)>Plain words", "Plain words"),
    ("<script>alert(1)</script>Plain words", "Plain words"),
    ("<b>Plain</b> <i\tclass=x>words</i>", "Plain words"),
    ("<a title='a>b' href=x>Plain</a> words", "Plain words"),
    ("<x don't>Plain words", "Plain words"),
    ("&lt;svg onload=alert(1)&gt;Plain words", "Plain words"),
    ("&lt;s&lt;b&gt;&lt;/b&gt;vg/onload=alert(1)&gt;Plain words", "Plain words"),
    ("<!DOCTYPE x><?xml-stylesheet href=x?><!-- c -->Plain words", "Plain words"),
    ("Plain words<svg/onload=alert(1)//", "Plain words"),
    ("<math><mi>x</mi><mo>&lt;</mo><mi>y</mi></math> Plain words", "x<y Plain words"),
    ("Plain &amp; words", "Plain & words"),
    ("Plain $a<b $c>d$ and a<b words", "Plain $a<b $c>d$ and a<b words"),
]


def _xml(value: str) -> str:
    return html.escape(value, quote=False)


def _swap(text: str, start: str, field: str, value: str) -> str:
    """Replace the text of the first ``field`` element after ``start`` with ``value``."""
    pattern = re.compile(rf"({re.escape(start)}.*?<{field}[^>]*>).*?(</{field}>)", re.S)
    swapped, count = pattern.subn(lambda m: m[1] + _xml(value) + m[2], text, count=1)
    assert count == 1, (start, field)
    return swapped


def arxiv_api(title: str, abstract: str) -> bytes:
    text = (FIXTURES / "arxiv-api" / "legacy-2016_id_list-1111.2011v2.xml").read_text("utf-8")
    return _swap(_swap(text, "<entry>", "title", title), "<entry>", "summary", abstract).encode()


def arxiv_listing(title: str, abstract: str) -> bytes:
    name = "cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"
    text = _swap((FIXTURES / "arxiv-rss" / name).read_text("utf-8"), "<item>", "title", title)
    prefix = "arXiv:2604.22002v1 Announce Type: new \nAbstract: "
    return _swap(text, "<item>", "description", prefix + abstract).encode()


def journal_rss(title: str, abstract: str) -> bytes:
    text = (FIXTURES / "journals" / "nature-current-2024-07-18.rss").read_text("utf-8")
    for field in ("title", "dc:title"):
        text = _swap(text, "<item rdf:about", field, title)
    return _swap(text, "<item rdf:about", "content:encoded", abstract).encode()


def _json_first(path: Path, records: Callable[[Any], list[Any]], **fields: str) -> bytes:
    document = json.loads(path.read_text("utf-8"))
    rows = records(document)
    del rows[1:]
    target = rows[0].get("paper", rows[0])
    target.update(fields)
    return json.dumps(document).encode()


def hf_daily(title: str, abstract: str) -> bytes:
    path = FIXTURES / "hf-daily-papers" / "api-daily_papers-2026-06-13_sotawhat.json"
    return _json_first(path, lambda d: d, title=title, summary=abstract)


def biorxiv(title: str, abstract: str) -> bytes:
    path = FIXTURES / "biorxiv-medrxiv" / "biorxiv-api-details-2026-08-01_2026-08-05.json"
    return _json_first(path, lambda d: d["collection"], title=title, abstract=abstract)


def semantic_scholar(title: str, abstract: str) -> bytes:
    path = FIXTURES / "semantic-scholar" / "graph-paper-search-transformer.json"
    return _json_first(path, lambda d: d["data"], title=title, abstract=abstract)


FLAVOURS = [arxiv_api, arxiv_listing, journal_rss, hf_daily, biorxiv, semantic_scholar]


@pytest.mark.parametrize("document", FLAVOURS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("hostile", "plain"), MARKUP)
def test_title_and_abstract_are_plain_text_in_every_flavour(
    document: Callable[[str, str], bytes], hostile: str, plain: str
) -> None:
    item = parse_feed(document(hostile, "Abstract: " + hostile), now=NOW).items[0]
    assert (item.title, item.abstract) == (plain, "Abstract: " + plain)
