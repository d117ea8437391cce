"""What a hostile feed puts in its fields does not reach the store as sent, on SQLite and
PostgreSQL: markup is gone from titles and abstracts, and one paper keeps one row however its
id or DOI is disguised (case, prefixes, markup, NFKC forms, invisible and bidirectional
characters), each spelling arriving in its own real feed document through the real ingest."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.pipeline.ingest_job import ingest_document
from digest.service import Service
from digest.store import papers

FIXTURES = Path(__file__).parent.parent / "fixtures"
API_2016 = FIXTURES / "arxiv-api" / "legacy-2016_id_list-1111.2011v2.xml"
HF_DAILY = FIXTURES / "hf-daily-papers" / "api-daily_papers-2026-06-13_sotawhat.json"
BIORXIV = FIXTURES / "biorxiv-medrxiv" / "biorxiv-api-details-2026-08-01_2026-08-05.json"
SEMANTIC = FIXTURES / "semantic-scholar" / "graph-paper-search-transformer.json"
NOW = dt.datetime(2026, 8, 6, 6, 0, tzinfo=dt.UTC)
FULLWIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


def disguises(value: str) -> list[str]:
    """The spellings a hostile or sloppy feed can give one identifier."""
    cut = len(value) // 2
    return [
        value,
        f"  {value}\n",
        value.upper(),
        value[:cut] + "\u200b" + value[cut:],  # zero-width space
        "\ufeff" + value,  # byte-order mark
        value[:cut] + "\u00ad" + value[cut:],  # soft hyphen
        value[:cut] + "\u2060" + value[cut:],  # word joiner
        f"\u202e{value}\u202c",  # right-to-left override ... pop
        f"\u2067{value}\u2069",  # right-to-left isolate ... pop
        f"\u200e{value}\u200f",  # left-to-right and right-to-left marks
        value.translate(FULLWIDTH),
        f"<b>{value}</b>",
        f"&lt;i&gt;{value}&lt;/i&gt;",
    ]


def arxiv_api(spelling: str) -> bytes:
    text = API_2016.read_text("utf-8")
    return text.replace(
        "<id>http://arxiv.org/abs/1111.2011v2</id>", f"<id>{html.escape(spelling, False)}</id>"
    ).encode()


def hf_daily(spelling: str) -> bytes:
    records = json.loads(HF_DAILY.read_text("utf-8"))[:1]
    records[0]["paper"]["id"] = spelling
    return json.dumps(records).encode()


def biorxiv(spelling: str) -> bytes:
    document = json.loads(BIORXIV.read_text("utf-8"))
    del document["collection"][1:]
    document["collection"][0]["doi"] = spelling
    return json.dumps(document).encode()


def semantic_scholar(spelling: str) -> bytes:
    """The Swin Transformer record known by its DOI only (its arXiv id removed)."""
    document = json.loads(SEMANTIC.read_text("utf-8"))
    del document["data"][1:]
    external = document["data"][0]["externalIds"]
    del external["ArXiv"]
    external["DOI"] = spelling
    return json.dumps(document).encode()


CASES = [
    (arxiv_api, "1111.2011v2", ["arXiv:1111.2011v2", "https://arxiv.org/abs/1111.2011"]),
    (hf_daily, "2606.00467", ["arXiv:2606.00467", "https://doi.org/10.48550/arXiv.2606.00467"]),
    (biorxiv, "10.64898/2026.07.31.741992", ["doi:10.64898/2026.07.31.741992"]),
    (
        semantic_scholar,
        "10.1109/ICCV48922.2021.00986",
        ["https://doi.org/10.1109/ICCV48922.2021.00986", "DOI: 10.1109/iccv48922.2021.00986"],
    ),
]


@pytest.mark.parametrize(
    ("document", "identifier", "prefixed"),
    CASES,
    ids=["arxiv-api", "hf-daily", "biorxiv", "semantic-scholar"],
)
def test_every_disguise_of_one_id_is_the_same_stored_paper(
    service: Service,
    document: Callable[[str], bytes],
    identifier: str,
    prefixed: list[str],
) -> None:
    spellings = disguises(identifier) + prefixed
    for number, spelling in enumerate(spellings):
        report = ingest_document(service, f"feed-{number}", document(spelling), url=None, now=NOW)
        assert report.error is None and report.failed == 0, (spelling, report)
        assert report.new + report.updated + report.duplicates == 1, (spelling, report)
    with service.db.session() as session:
        (paper,) = papers.list_papers(session)
    canonical = identifier.lower().removesuffix("v2")
    assert canonical in (paper.arxiv_id, paper.doi)
    assert len(paper.sources) == len(spellings)


def test_markup_sent_in_titles_and_abstracts_is_not_stored(service: Service) -> None:
    text = API_2016.read_text("utf-8")
    text = text.replace(
        "<title>Quantum Criticality", "<title>&lt;svg/onload=alert(1)&gt;Quantum <b>Criticality", 1
    )
    text = text.replace(
        "<summary>  Theoretical", "<summary>&lt;img src=x onerror=alert(1)&gt;Theoretical", 1
    )
    report = ingest_document(service, "api", text.encode(), url=None, now=NOW)
    assert report.new == 1, report
    with service.db.session() as session:
        (paper,) = papers.list_papers(session)
    assert paper.title.startswith("Quantum Criticality for Extended Nodes")
    assert paper.abstract.startswith("Theoretical description of anisotropic systems")
