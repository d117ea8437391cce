"""What a feed's items change in the papers table, decided before anything is written.

:mod:`digest.store.paper_merge` loads what it knows of the rows a batch could join (a
:class:`Known` each), :func:`decide_batch` says which papers are new and which columns each
item changes, and the store writes that. Nothing here reads or writes the database.

Identity (see :func:`digest.ingest.ids.paper_key`): the arXiv id wins; a DOI joins a row that
carries it (a journal DOI an arXiv record links to joins the arXiv paper, and the row's key
becomes the arXiv key when the arXiv record arrives second). Versions: a higher version
replaces title, abstract, authors and version, but never ``first_seen_at`` or
``announced_at``, which is what the digest window reads, so a v2 is not news again; a stored
version whose title or abstract changes is dated (``revised_at``) and described (``revision``)
so readers who got it are told once (see :func:`revision_of`). A paper
first seen as an arXiv *replacement* is dated to its id's month for the same reason. A
cross-list adds its categories. A mention (HN, Reddit, HF) of an unknown paper creates a row
with ``has_full_record`` false; the first full listing fills it in and may date it earlier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from digest.ingest.revisions import revision_of
from digest.models import FeedItem

Fillable = Literal["arxiv_id", "doi", "url", "pdf_url", "code_url", "published_at"]
# (column, FeedItem attribute): a column filled by the first item that has it, never replaced.
FILLABLE: tuple[tuple[Fillable, str], ...] = (
    ("arxiv_id", "arxiv_id"),
    ("doi", "doi"),
    ("url", "url"),
    ("pdf_url", "pdf_url"),
    ("code_url", "code_url"),
    ("published_at", "published"),
)
REPLACE_TYPES = ("replace", "replace-cross")


class NewPaper(TypedDict):
    """The INSERT values of a paper first seen in this batch (papers table columns)."""

    key: str
    arxiv_id: str | None
    doi: str | None
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    version: int
    url: str | None
    pdf_url: str | None
    code_url: str | None
    published_at: dt.datetime | None
    updated_at: dt.datetime | None
    announced_at: dt.datetime
    first_seen_at: dt.datetime
    changed_at: dt.datetime
    announce_type: str | None
    has_full_record: bool


class PaperChanges(TypedDict, total=False):
    """The columns one item changes on a paper, and their new values: one UPDATE's SET list."""

    key: str
    arxiv_id: str
    doi: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    version: int
    url: str
    pdf_url: str
    code_url: str
    published_at: dt.datetime
    updated_at: dt.datetime
    announced_at: dt.datetime
    changed_at: dt.datetime
    has_full_record: bool
    revised_at: dt.datetime
    revision: str


@dataclass
class Known:
    """What the merge must know of a stored (or pending) row to decide; not the whole row.

    Mutable on purpose: a decision updates it, so a later item of the same batch sees the
    paper as the earlier ones left it.
    """

    id: int | None
    key: str
    version: int
    full: bool
    categories: list[str]
    announced_at: dt.datetime
    has_abstract: bool
    filled: set[str] = field(default_factory=set)  # fillable columns that hold a value
    arxiv_id: str | None = None
    doi: str | None = None
    has_authors: bool = True
    pending: NewPaper | None = None  # insert values of a row new in this batch
    title: str = ""  # as stored, for what a higher version changes (revisions.revision_of)
    abstract: str = ""


@dataclass
class MergeCounts:
    """What a batch did, for the ingest report: papers new, changed, or only seen again."""

    new: int = 0
    updated: int = 0
    duplicates: int = 0


@dataclass
class BatchChanges:
    """What one feed's items change: rows to insert, rows to update, the paper of each item."""

    counts: MergeCounts = field(default_factory=MergeCounts)
    new: list[Known] = field(default_factory=list)  # each with its ``pending`` insert values
    updates: list[tuple[int, PaperChanges]] = field(default_factory=list)  # stored id, changes
    matched: list[Known] = field(default_factory=list)  # per item, in order: for its sighting


def decide_batch(
    items: Sequence[FeedItem],
    keys: Sequence[str],
    by_key: dict[str, Known],
    by_doi: dict[str, Known],
    now: dt.datetime,
) -> BatchChanges:
    """Fold a feed's items (with their :func:`paper_key`) into the papers known by key and DOI.

    ``by_key`` and ``by_doi`` hold the stored rows the items could join; papers new in this
    batch are added to them, so a second item of the same paper joins the first.
    """
    batch = BatchChanges()
    for item, key in zip(items, keys, strict=True):
        known = by_key.get(key) or _doi_match(by_doi, item)
        if known is None:
            known = pending_paper(item, key, now)
            batch.new.append(known)
            batch.counts.new += 1
        else:
            changes = decide_changes(known, item, key, now)
            if changes and known.pending is not None:
                known.pending.update(changes)  # type: ignore[typeddict-item]  # non-null values
            elif changes:
                assert known.id is not None
                batch.updates.append((known.id, changes))
                batch.counts.updated += 1
            else:
                batch.counts.duplicates += 1
        by_key[known.key] = by_key[key] = known
        if known.doi:
            by_doi.setdefault(known.doi, known)
        batch.matched.append(known)
    return batch


def _doi_match(by_doi: dict[str, Known], item: FeedItem) -> Known | None:
    known = by_doi.get(item.doi) if item.doi else None
    if known is not None and item.arxiv_id and known.arxiv_id not in (None, item.arxiv_id):
        return None  # two arXiv papers citing one DOI stay two papers
    return known


def announced_at_for(item: FeedItem, now: dt.datetime) -> dt.datetime:
    """When a new paper became news: its announcement, except for a replacement we never saw
    as new (an old paper revised), which is dated to the first day of its id's month."""
    announced = item.published or item.updated or now
    if item.announce_type in REPLACE_TYPES and item.arxiv_id and item.arxiv_id[:4].isdigit():
        year, month = 2000 + int(item.arxiv_id[:2]), int(item.arxiv_id[2:4])
        if 1 <= month <= 12:
            announced = min(announced, dt.datetime(year, month, 1, tzinfo=dt.UTC))
    return announced


def pending_paper(item: FeedItem, key: str, now: dt.datetime) -> Known:
    """A paper no row holds yet: its insert values, and what later items must know of it."""
    values = NewPaper(
        key=key,
        arxiv_id=item.arxiv_id,
        doi=item.doi,
        title=item.title,
        abstract=item.abstract,
        authors=list(item.authors),
        categories=list(item.categories),
        version=item.version or 1,
        url=item.url,
        pdf_url=item.pdf_url,
        code_url=item.code_url,
        published_at=item.published,
        updated_at=item.updated,
        announced_at=announced_at_for(item, now),
        first_seen_at=now,
        changed_at=now,
        announce_type=item.announce_type,
        has_full_record=not item.is_mention,
    )
    return Known(
        id=None,
        key=key,
        version=values["version"],
        full=values["has_full_record"],
        categories=values["categories"],
        announced_at=values["announced_at"],
        has_abstract=bool(item.abstract),
        filled={name for name, attr in FILLABLE if getattr(item, attr)},
        arxiv_id=item.arxiv_id,
        doi=item.doi,
        title=item.title,
        abstract=item.abstract,
        has_authors=bool(item.authors),
        pending=values,
    )


def decide_changes(known: Known, item: FeedItem, key: str, now: dt.datetime) -> PaperChanges:
    """The column values this item changes on a known paper ({} when it only repeats it).

    Updates ``known`` as well, so a later item of the same batch sees the new state.
    """
    changes = PaperChanges()
    revised = (item.version or 0) > known.version
    fills_in = not known.full and not item.is_mention
    if revised and known.full and known.id is not None and (note := revision_of(known, item)):
        stamps = [t for t in (item.published, item.updated) if t is not None]
        changes["revised_at"] = min(max(stamps), now) if stamps else now
        changes["revision"] = note
    if revised or fills_in:
        known.title = item.title
        known.abstract = item.abstract or known.abstract
        changes["title"] = item.title
        changes["version"] = known.version = max(known.version, item.version or 1)
        if item.abstract:
            changes["abstract"] = item.abstract
        if item.authors:
            changes["authors"] = list(item.authors)
        if item.updated:
            changes["updated_at"] = item.updated
    if fills_in:
        changes["has_full_record"] = known.full = True
        if item.published and item.published < known.announced_at:
            changes["announced_at"] = known.announced_at = item.published
    if not known.has_abstract and item.abstract:
        changes["abstract"] = item.abstract
    known.has_abstract = known.has_abstract or bool(item.abstract)
    if not known.has_authors and item.authors:  # any later source that names them fills them
        changes["authors"] = list(item.authors)
    known.has_authors = known.has_authors or bool(item.authors)
    extra = [c for c in item.categories if c not in known.categories]
    if extra:
        known.categories = [*known.categories, *extra]
        changes["categories"] = known.categories
    for column, attr in FILLABLE:
        value = getattr(item, attr)
        if value and column not in known.filled:
            changes[column] = value
            known.filled.add(column)
    known.arxiv_id = known.arxiv_id or item.arxiv_id
    known.doi = known.doi or item.doi
    if key.startswith("arxiv:") and not known.key.startswith("arxiv:"):
        changes["key"] = known.key = key
    if changes:
        changes["changed_at"] = now
    return changes


def heaviest_items(seen: Iterable[tuple[int, FeedItem]]) -> dict[int, FeedItem]:
    """Per paper id, the item a source's one sighting of it records: the heaviest (the first
    among equals), so a paper listed twice in one feed is sighted once."""
    best: dict[int, FeedItem] = {}
    for paper_id, item in seen:
        kept = best.get(paper_id)
        if kept is None or item.weight > kept.weight:
            best[paper_id] = item
    return best
