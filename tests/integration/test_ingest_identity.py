"""One paper, one row, on SQLite and PostgreSQL: versions, cross-lists, journal DOIs linked to
arXiv ids, mentions filled in by later listings, bioRxiv versions and title-only records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from digest.models import Paper
from digest.pipeline.ingest_job import ingest_document
from digest.service import Service
from digest.store import papers
from digest.store.schema import PaperRow

FIXTURES = Path(__file__).parent.parent / "fixtures"
LISTING = FIXTURES / "arxiv-rss" / "cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"
API_2016 = FIXTURES / "arxiv-api" / "legacy-2016_id_list-1111.2011v2.xml"
NATURE = FIXTURES / "journals" / "nature-current-2024-07-18.rss"
BIORXIV = FIXTURES / "biorxiv-medrxiv" / "biorxiv-api-details-2026-08-01_2026-08-05.json"
HN = FIXTURES / "social" / "hn-frontpage-news.ycombinator.com-rss-2025-12-14.xml"
NOW = dt.datetime(2026, 4, 27, 6, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)
PRB_DOI = "10.1103/PhysRevB.85.115117"


def ingest(service: Service, name: str, data: bytes, now: dt.datetime = NOW) -> None:
    report = ingest_document(service, name, data, url=None, now=now)
    assert report.error is None, report


def stored(service: Service) -> list[Paper]:
    with service.db.session() as session:
        return papers.list_papers(session)


def only(service: Service, arxiv_id: str) -> Paper:
    matches = [p for p in stored(service) if p.arxiv_id == arxiv_id]
    assert len(matches) == 1, matches
    return matches[0]


def replaced_listing() -> bytes:
    """The cs.CL listing in which 2604.22027 is announced again as a revised v2."""
    text = LISTING.read_text(encoding="utf-8")
    cut = text.index("<title>Shared Lexical")
    item = text[cut:].replace("2604.22027v1", "2604.22027v2")
    item = item.replace("<arxiv:announce_type>new", "<arxiv:announce_type>replace", 1)
    item = item.replace(
        "Announce Type: new \nAbstract: One", "Announce Type: replace \nAbstract: Revised. One", 1
    )
    item = item.replace(
        "Shared Lexical Task Representations", "Revised Lexical Task Representations", 1
    )
    return (text[:cut] + item).encode()


def test_a_replacement_updates_text_and_version_but_not_first_seen_or_announcement(
    service: Service,
) -> None:
    ingest(service, "cs.CL", LISTING.read_bytes())
    before = only(service, "2604.22027")
    ingest(service, "cs.CL", replaced_listing(), now=LATER)
    after = only(service, "2604.22027")
    assert after.version == 2 and after.title.startswith("Revised Lexical Task")
    assert after.abstract.startswith("Revised.")
    assert (after.first_seen, after.published) == (before.first_seen, before.published)


def test_a_replacement_is_not_in_the_window_of_its_announcement_day_again(
    service: Service,
) -> None:
    ingest(service, "cs.CL", LISTING.read_bytes())
    ingest(service, "cs.CL", replaced_listing(), now=LATER)
    with service.db.session() as session:
        window = papers.papers_in_window(session, LATER.date(), 1)
    assert "2604.22027" not in {p.arxiv_id for p in window}


def test_a_replacement_never_seen_as_new_is_dated_to_its_id_month(service: Service) -> None:
    ingest(service, "cs.CL", replaced_listing(), now=LATER)
    assert only(service, "2604.22027").published == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert only(service, "2604.22002").published == dt.datetime(2026, 4, 27, 4, tzinfo=dt.UTC)


def test_a_cross_list_adds_its_category_to_the_same_paper(service: Service) -> None:
    ingest(service, "cs.CL", LISTING.read_bytes())
    crossed = LISTING.read_text(encoding="utf-8").replace(
        "<category>cs.CL</category>", "<category>stat.ML</category>"
    )
    ingest(
        service, "stat.ML", crossed.replace("Announce Type: new", "Announce Type: cross").encode()
    )
    paper = only(service, "2604.22002")
    assert paper.categories == ("cs.CL", "stat.ML")
    assert paper.sources == ("cs.CL", "stat.ML")
    assert len(stored(service)) == 3


def journal_feed() -> bytes:
    """The Nature fixture with its first article's DOI swapped for the 2016 API record's DOI."""
    return NATURE.read_bytes().replace(b"10.1038/s41586-024-07811-4", PRB_DOI.encode())


def test_a_journal_doi_seen_after_the_arxiv_record_joins_it(service: Service) -> None:
    ingest(service, "arxiv-api", API_2016.read_bytes())
    ingest(service, "nature", journal_feed())
    paper = only(service, "1111.2011")
    assert paper.doi == PRB_DOI.lower()
    assert set(paper.sources) == {"arxiv-api", "nature"}
    assert not [p for p in stored(service) if p.doi == PRB_DOI.lower() and p.id != paper.id]


def test_a_journal_doi_seen_first_becomes_the_arxiv_paper_when_linked(service: Service) -> None:
    ingest(service, "nature", journal_feed())
    (journal,) = [p for p in stored(service) if p.doi == PRB_DOI.lower()]
    ingest(service, "arxiv-api", API_2016.read_bytes())
    paper = only(service, "1111.2011")
    assert (paper.id, paper.key) == (journal.id, "arxiv:1111.2011")
    assert set(paper.sources) == {"arxiv-api", "nature"}


def test_a_mention_creates_a_partial_paper_that_a_listing_fills_in(service: Service) -> None:
    mention = (
        '<rss version="2.0"><channel><title>Hacker News</title>'
        "<link>https://news.ycombinator.com/</link><item><title>Cow urine and LLMs</title>"
        "<link>https://arxiv.org/abs/2604.22002</link><comments>"
        "https://news.ycombinator.com/item?id=1</comments><description>Points: 120"
        "</description></item></channel></rss>"
    )
    ingest(service, "hn", mention.encode(), now=NOW - dt.timedelta(hours=1))
    with service.db.session() as session:
        row = session.query(PaperRow).filter_by(arxiv_id="2604.22002").one()
        assert (row.has_full_record, row.title) == (False, "Cow urine and LLMs")
    ingest(service, "cs.CL", LISTING.read_bytes())
    with service.db.session() as session:
        row = session.query(PaperRow).filter_by(arxiv_id="2604.22002").one()
        assert row.has_full_record and row.title.startswith("When Cow Urine Cures")
        assert row.abstract.startswith("Social media platforms")
        assert row.categories == ["cs.CL"]
    assert set(only(service, "2604.22002").sources) == {"hn", "cs.CL"}


def test_a_biorxiv_paper_seen_twice_and_in_a_new_version_is_one_row(service: Service) -> None:
    document = json.loads(BIORXIV.read_bytes())
    ingest(service, "biorxiv", BIORXIV.read_bytes())
    first = document["collection"][0]
    first.update(version="2", title=first["title"] + " (v2)")
    ingest(service, "biorxiv", json.dumps(document).encode(), now=LATER)
    rows = [p for p in stored(service) if p.doi == first["doi"]]
    assert len(rows) == 1 and rows[0].version == 2 and rows[0].title.endswith("(v2)")
    assert len(stored(service)) == len(document["collection"])


def test_a_record_without_ids_joins_by_title_and_first_author(service: Service) -> None:
    record = {
        "paperId": "x1",
        "externalIds": {},
        "title": "Sound-Shape Correspondences in Macaques",
        "authors": [{"name": "Maria Loconsole"}, {"name": "C. Xue"}],
    }
    ingest(service, "s2", json.dumps({"data": [record]}).encode())
    record["title"] = "Sound–shape correspondences in macaques."
    record["authors"] = [{"name": "M. Loconsole"}]
    ingest(service, "s2-again", json.dumps({"data": [record]}).encode())
    (paper,) = stored(service)
    assert set(paper.sources) == {"s2", "s2-again"}
