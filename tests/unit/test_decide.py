"""The pure merge decision (digest.ingest.decide): what a feed item changes, without a database.

The listing items come from a real arXiv RSS fixture; the rest are built from them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from digest.ingest.decide import (
    Known,
    announced_at_for,
    decide_batch,
    decide_changes,
    heaviest_items,
    pending_paper,
)
from digest.ingest.ids import paper_key
from digest.ingest.parse import parse_feed
from digest.ingest.revisions import revision_of
from digest.models import FeedItem

LISTING = (
    Path(__file__).parent.parent
    / "fixtures"
    / "arxiv-rss"
    / "cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"
)
NOW = dt.datetime(2026, 4, 27, 6, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)


def listed() -> FeedItem:
    """2604.22002 as the cs.CL listing announced it (v1, a full record)."""
    items = parse_feed(LISTING.read_bytes(), now=NOW).items
    (item,) = [i for i in items if i.arxiv_id == "2604.22002"]
    return item


def stored(item: FeedItem, paper_id: int = 7) -> Known:
    """What the store would load for ``item`` once written."""
    known = pending_paper(item, paper_key(item), NOW)
    known.id, known.pending = paper_id, None
    return known


def test_a_repeated_item_changes_nothing() -> None:
    item = listed()
    assert decide_changes(stored(item), item, paper_key(item), LATER) == {}


def test_a_higher_version_replaces_the_text_but_not_the_announcement() -> None:
    item = listed()
    known = stored(item)
    revised = dataclasses.replace(item, version=2, title="Revised", abstract="New.", authors=("B",))
    changes = decide_changes(known, revised, paper_key(revised), LATER)
    assert changes == {
        "title": "Revised",
        "version": 2,
        "abstract": "New.",
        "authors": ["B"],
        "changed_at": LATER,
        "revised_at": item.published,  # the replacement's announcement, not when we read it
        "revision": "new title and abstract",
    }
    assert known.version == 2


def test_what_a_new_version_changed() -> None:
    item = listed()
    v2 = dataclasses.replace(item, version=2)
    assert revision_of(stored(item), v2) is None  # a PDF-only replacement
    spaced = dataclasses.replace(v2, abstract="  " + item.abstract.replace(". ", ".  ").upper())
    assert revision_of(stored(item), spaced) is None
    assert revision_of(stored(item), dataclasses.replace(v2, abstract="Now more.")) == (
        "abstract revised"
    )
    assert revision_of(stored(item), dataclasses.replace(v2, title="Other")) == "new title"
    withdrawn = dataclasses.replace(v2, abstract="This paper has been withdrawn by the author.")
    assert revision_of(stored(item), withdrawn) == "withdrawn"


def test_a_new_version_of_a_paper_new_in_the_same_batch_is_not_news() -> None:
    item = listed()
    known = pending_paper(item, paper_key(item), NOW)
    revised = dataclasses.replace(item, version=2, abstract="New.")
    changes = decide_changes(known, revised, paper_key(revised), LATER)
    assert changes["version"] == 2 and "revised_at" not in changes


def test_an_older_version_does_not_replace_the_text() -> None:
    item = dataclasses.replace(listed(), version=3)
    older = dataclasses.replace(item, version=2, title="Older")
    assert decide_changes(stored(item), older, paper_key(older), LATER) == {}


def test_a_listing_fills_in_a_mention_and_may_date_it_earlier() -> None:
    item = listed()
    mention = FeedItem(title="Cow urine and LLMs", arxiv_id=item.arxiv_id, is_mention=True)
    known = pending_paper(mention, paper_key(mention), LATER)
    known.id, known.pending = 3, None
    changes = decide_changes(known, item, paper_key(item), LATER)
    assert changes["has_full_record"] is True and changes["title"] == item.title
    assert changes["announced_at"] == item.published
    assert changes["abstract"] == item.abstract
    assert known.full and known.announced_at == item.published


def test_a_fill_in_never_dates_a_paper_later() -> None:
    item = listed()
    mention = FeedItem(title="Cow", arxiv_id=item.arxiv_id, is_mention=True)
    known = pending_paper(mention, paper_key(mention), NOW - dt.timedelta(days=9))
    known.id, known.pending = 3, None
    assert "announced_at" not in decide_changes(known, item, paper_key(item), LATER)


def test_a_second_mention_does_not_fill_in_a_mention() -> None:
    mention = FeedItem(title="Cow", arxiv_id="2604.22002", is_mention=True)
    known = stored(mention)
    again = dataclasses.replace(mention, title="Other words")
    assert decide_changes(known, again, paper_key(again), LATER) == {}


def test_a_cross_list_adds_only_the_categories_not_held() -> None:
    item = listed()
    known = stored(item)
    crossed = dataclasses.replace(item, categories=(*item.categories, "stat.ML"))
    changes = decide_changes(known, crossed, paper_key(crossed), LATER)
    assert changes == {"categories": [*item.categories, "stat.ML"], "changed_at": LATER}


def test_a_link_is_filled_once_and_never_replaced() -> None:
    item = dataclasses.replace(listed(), code_url=None)
    known = stored(item)
    with_code = dataclasses.replace(item, code_url="https://github.com/a/b")
    assert decide_changes(known, with_code, paper_key(item), LATER) == {
        "code_url": "https://github.com/a/b",
        "changed_at": LATER,
    }
    other = dataclasses.replace(item, code_url="https://github.com/c/d")
    assert decide_changes(known, other, paper_key(item), LATER) == {}


def test_a_journal_row_takes_the_arxiv_key_when_the_arxiv_record_arrives() -> None:
    journal = FeedItem(title="Bands", doi="10.1103/physrevb.85.115117", url="https://j.org/1")
    known = stored(journal)
    arxiv = dataclasses.replace(journal, arxiv_id="1111.2011", version=1)
    changes = decide_changes(known, arxiv, paper_key(arxiv), LATER)
    assert changes["key"] == known.key == "arxiv:1111.2011"
    assert changes["arxiv_id"] == known.arxiv_id == "1111.2011"


def test_a_new_paper_is_dated_by_its_announcement_else_its_update_else_now() -> None:
    item = listed()
    assert announced_at_for(item, LATER) == item.published
    updated = dataclasses.replace(item, published=None, updated=NOW)
    assert announced_at_for(updated, LATER) == NOW
    assert announced_at_for(dataclasses.replace(updated, updated=None), LATER) == LATER


def test_a_replacement_never_seen_as_new_is_dated_to_its_id_month() -> None:
    item = dataclasses.replace(listed(), announce_type="replace")
    assert announced_at_for(item, LATER) == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    crossed = dataclasses.replace(item, announce_type="replace-cross")
    assert announced_at_for(crossed, LATER) == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    odd = dataclasses.replace(item, arxiv_id="2613.00001")  # no 13th month: left alone
    assert announced_at_for(odd, LATER) == item.published


def test_a_batch_counts_new_updated_and_duplicate_papers() -> None:
    item = listed()
    known = stored(item)
    revised = dataclasses.replace(item, version=2, title="Revised")
    fresh = FeedItem(title="Fresh", arxiv_id="2604.99999", version=1)
    items = [item, revised, fresh]
    by_key = {known.key: known}
    batch = decide_batch(items, [paper_key(i) for i in items], by_key, {}, LATER)
    assert (batch.counts.new, batch.counts.updated, batch.counts.duplicates) == (1, 1, 1)
    assert [(paper_id, changes["title"]) for paper_id, changes in batch.updates] == [(7, "Revised")]
    assert [k.key for k in batch.new] == ["arxiv:2604.99999"]
    assert batch.matched == [known, known, batch.new[0]]
    assert by_key["arxiv:2604.99999"] is batch.new[0]


def test_a_second_item_of_a_new_paper_is_folded_into_its_insert() -> None:
    item = listed()
    crossed = dataclasses.replace(item, categories=(*item.categories, "stat.ML"))
    batch = decide_batch([item, crossed], [paper_key(item)] * 2, {}, {}, NOW)
    (new,) = batch.new
    assert new.pending is not None and new.pending["categories"] == ["cs.CL", "stat.ML"]
    assert batch.updates == [] and batch.counts.new == 1


def test_a_doi_joins_the_paper_that_carries_it_unless_both_have_arxiv_ids() -> None:
    doi = "10.1103/physrevb.85.115117"
    arxiv = stored(FeedItem(title="Bands", arxiv_id="1111.2011", version=1, doi=doi))
    journal = FeedItem(title="Bands (journal)", doi=doi)
    joined = decide_batch([journal], [paper_key(journal)], {}, {doi: arxiv}, NOW)
    assert joined.matched == [arxiv] and joined.new == []
    other = FeedItem(title="Other", arxiv_id="1111.2012", version=1, doi=doi)
    apart = decide_batch([other], [paper_key(other)], {}, {doi: arxiv}, NOW)
    assert [k.key for k in apart.new] == ["arxiv:1111.2012"]


def test_a_sighting_records_the_heaviest_item_first_among_equals() -> None:
    light, heavy, tie = (FeedItem(title=t, weight=w) for t, w in (("a", 1), ("b", 5), ("c", 5)))
    best = heaviest_items([(1, light), (1, heavy), (1, tie), (2, light)])
    assert best == {1: heavy, 2: light}


def test_a_doi_joins_a_paper_new_in_the_same_batch() -> None:
    doi = "10.1103/physrevb.85.115117"
    arxiv = FeedItem(title="Bands", arxiv_id="1111.2011", version=1, doi=doi)
    journal = FeedItem(title="Bands (journal)", doi=doi)
    batch = decide_batch([arxiv, journal], [paper_key(arxiv), paper_key(journal)], {}, {}, NOW)
    assert len(batch.new) == 1 and batch.matched == [batch.new[0], batch.new[0]]
