"""A reader's BibTeX library → seeds (arXiv ids, DOIs) and fallback topics (titles).

Entries with an arXiv eprint, an arxiv.org URL or a DOI become seeds; entries with none of those
lend their title as a low-weight topic, so an old book chapter still says what the reader likes.
Parsing is bibtexparser's; this module only decides what each entry contributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import bibtexparser
from bibtexparser.bparser import BibTexParser

from digest.errors import DigestError
from digest.models import Profile, Topic

TITLE_TOPIC_WEIGHT = 0.5
MAX_TITLE_TOPICS = 20
_ARXIV_NEW = re.compile(r"(\d{4}\.\d{4,5})(v\d+)?")
_ARXIV_OLD = re.compile(r"([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?")
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/([^\s?#]+?)(?:\.pdf)?(?:[?#]|$)", re.I)
_DOI = re.compile(r"(10\.\d{4,9}/\S+)")


@dataclass(frozen=True)
class Library:
    seeds: tuple[str, ...]  # arXiv ids (no version) and DOIs, in file order, no repeats
    titles: tuple[str, ...]  # titles of entries without an identifier
    entries: int


def _arxiv_id(text: str) -> str | None:
    text = text.strip()
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.fullmatch(text.removeprefix("arXiv:").removeprefix("arxiv:"))
        if match:
            return match.group(1)
    return None


def _clean_title(title: str) -> str:
    return " ".join(title.replace("{", "").replace("}", "").replace("\\", "").split())


def identifier_of(entry: dict[str, str]) -> str | None:
    """The entry's arXiv id (from eprint, journal or URL), else its DOI, else None."""
    prefix = entry.get("archiveprefix", entry.get("eprinttype", "")).lower()
    if entry.get("eprint") and prefix in ("", "arxiv"):
        found = _arxiv_id(entry["eprint"])
        if found:
            return found
    for field in ("url", "journal"):
        match = _ARXIV_URL.search(entry.get(field, "")) or re.search(
            r"arXiv:(\S+)", entry.get(field, ""), re.I
        )
        if match and _arxiv_id(match.group(1)):
            return _arxiv_id(match.group(1))
    match = _DOI.search(entry.get("doi", ""))
    return match.group(1).rstrip(".,;").lower() if match else None


def decode_library(data: bytes, name: str) -> str:
    """BibTeX files are UTF-8 (biber's default); anything else gets a message, not a traceback."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DigestError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}):"
            " save it as UTF-8 and try again"
        ) from None


def _unclosed_entry_line(text: str) -> int | None:
    """The line where an entry opens that the file never closes (a cut-short export)."""
    depth, opened_at, line = 0, 0, 1
    for char in text:
        if char == "\n":
            line += 1
        elif char == "{":
            if depth == 0:
                opened_at = line
            depth += 1
        elif char == "}" and depth:
            depth -= 1
    return opened_at if depth else None


def read_library(text: str) -> Library:
    """Seeds and fallback titles from BibTeX source; raises DigestError when nothing parses."""
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    unclosed = _unclosed_entry_line(text)
    if unclosed is not None:
        raise DigestError(
            f"the BibTeX entry that starts on line {unclosed} never ends (a brace is not"
            " closed): is the file cut short?"
        )
    database = bibtexparser.loads(text, parser=parser)
    if not database.entries and text.strip():
        raise DigestError("no BibTeX entries found (is this a .bib file?)")
    seeds: dict[str, None] = {}
    titles: dict[str, None] = {}
    for entry in database.entries:
        identifier = identifier_of(entry)
        if identifier:
            seeds.setdefault(identifier, None)
        elif entry.get("title"):
            titles.setdefault(_clean_title(entry["title"]), None)
    return Library(tuple(seeds), tuple(titles)[:MAX_TITLE_TOPICS], len(database.entries))


@dataclass(frozen=True)
class LibraryMerge:
    """What a library adds to a profile: the profile changes, and counts to tell the reader."""

    changes: dict[str, tuple[str, ...] | tuple[Topic, ...]]
    new_seeds: int
    title_topics: int


def merge_library(profile: Profile, library: Library, *, titles: bool = True) -> LibraryMerge:
    """The library's seeds after the profile's own, and titles (of entries with no id) as
    low-weight topics the profile does not have yet: the CLI's import-bib and the manage
    page's upload, so both add a library the same way. Importing it twice adds nothing."""
    seeds = tuple(dict.fromkeys(profile.seeds + library.seeds))
    known = {t.text.lower() for t in profile.topics}
    extra = tuple(
        Topic(title, TITLE_TOPIC_WEIGHT)
        for title in (library.titles if titles else ())
        if title.lower() not in known
    )
    return LibraryMerge(
        changes={"seeds": seeds, "topics": profile.topics + extra},
        new_seeds=len(seeds) - len(profile.seeds),
        title_topics=len(extra),
    )
