"""Canonical identity of a paper: arXiv id + version, normalised DOI, or a title key.

The same paper reaches us as an arXiv listing, an API record, a Hugging Face upvote, a Hacker
News link or a journal DOI. Every one of those is reduced here to one key, so the store keeps
one row per paper however many roads lead to it. All functions are pure.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from digest.ingest.sanitize import plain_identifier
from digest.models import FeedItem

KEY_MAX = 255
_TITLE_KEY_MAX = 180
_SURNAME_MAX = 60
_DOI_MAX = 240

_ARXIV_PREFIX = (
    r"(?:arxiv:\s*"
    r"|oai:arxiv\.org:"
    r"|(?:https?://)?(?:(?:www|export|rss|browse)\.)?arxiv\.org/(?:abs|pdf|html|format)/"
    r"|(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*)?10\.48550/arxiv\.)?"
)
_ARXIV = re.compile(
    r"^\s*" + _ARXIV_PREFIX + r"(?:(?P<yymm>\d{4})\.(?P<num>\d{4,5})"
    r"|(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[a-z]{2})?/(?P<oyymm>\d{4})(?P<onum>\d{3}))"
    r"(?:v(?P<version>\d{1,4}))?(?:\.pdf)?/?(?:[?#]\S*)?\s*$",
    re.I,
)
_DOI_PREFIX = re.compile(
    r"^(?:(?:info:|urn:)?doi[:/]\s*|doi\s+|(?:https?://)?(?:dx\.|www\.)?doi\.org/)", re.I
)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_TRAILING_PUNCT = ".,;:'\"]}>"
_BIORXIV_PATH = re.compile(
    r"^/content/(?P<doi>10\.\d{4,9}/(?:\d{4}\.\d{2}\.\d{2}\.)?\d+)(?:v(?P<version>\d+))?(?:\.[\w.-]*)?/?$"
)
_PAPER_PATHS = {
    "huggingface.co": "/papers/",
    "hf.co": "/papers/",
    "tldr.takara.ai": "/p/",
    "semanticscholar.org": "/arxiv/",
    "ar5iv.org": "/abs/",
    "ar5iv.labs.arxiv.org": "/html/",
}
_NON_WORD = re.compile(r"[\W_]+")


def _valid_yymm(yymm: str, new_style: bool, digits: int = 0) -> bool:
    year, month = int(yymm[:2]), int(yymm[2:])
    if not 1 <= month <= 12:
        return False
    if not new_style:
        return year >= 91 or year <= 7
    if yymm < "0704":
        return False
    return digits == (4 if yymm < "1501" else 5)


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """(id without version, version or None) from any common spelling of an arXiv id.

    Old-style ids drop the subject class (math.GT/0309136 → math/0309136), as arXiv itself does,
    so both spellings give one key. Ids with an impossible month or digit count are rejected.
    The text is read as :func:`plain_identifier` leaves it (no markup, invisible characters).
    """
    if not isinstance(text, str) or len(text) >= 400:
        return None
    match = _ARXIV.match(plain_identifier(text))
    if match is None:
        return None
    version = int(match["version"]) if match["version"] else None
    if version == 0:
        return None
    if match["yymm"]:
        if not _valid_yymm(match["yymm"], True, len(match["num"])):
            return None
        return f"{match['yymm']}.{match['num']}", version
    if not _valid_yymm(match["oyymm"], False) or match["onum"] == "000":
        return None
    return f"{match['archive'].lower()}/{match['oyymm']}{match['onum']}", version


def normalize_doi(text: str) -> str | None:
    """Lower-case bare DOI ("10.1038/x") from a DOI, doi: form or doi.org link; else None.

    NFKC, markup and invisible characters go first (:func:`plain_identifier`), so a DOI with a
    zero-width space or fullwidth digits is the same DOI, not a second paper.
    """
    if not isinstance(text, str) or len(text) > 2_000:
        return None
    doi = plain_identifier(text).lstrip("(<[")
    if _DOI_PREFIX.match(doi):
        doi = unquote(_DOI_PREFIX.sub("", doi, count=1))
    doi = doi.split("#", 1)[0].lower().rstrip()
    while doi and (
        doi[-1] in _TRAILING_PUNCT or (doi[-1] == ")" and doi.count("(") < doi.count(")"))
    ):
        doi = doi[:-1]
    if len(doi) > _DOI_MAX or not _DOI.match(doi):
        return None
    return doi


def resolve_paper_link(url: str) -> tuple[str | None, str | None]:
    """(arxiv_id, doi) for a link to a paper page we recognise; (None, None) for anything else.

    An arXiv DOI resolves to its arXiv id (doi None): the id is the better key.
    """
    if not isinstance(url, str) or len(url) > 2_000:
        return None, None
    try:
        parts = urlsplit(plain_identifier(url))
    except ValueError:
        return None, None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None, None
    host = parts.hostname.lower().removeprefix("www.")
    path = parts.path
    if host in ("arxiv.org", "export.arxiv.org", "rss.arxiv.org", "alphaxiv.org"):
        tail = re.sub(r"^/(?:abs|pdf|html|overview)/", "", path)
        return _arxiv_only(tail if tail != path else "")
    if host in ("doi.org", "dx.doi.org"):
        doi = normalize_doi(unquote(path.lstrip("/")))
        arxiv = parse_arxiv_id(doi) if doi else None
        return (arxiv[0], None) if arxiv else (None, doi)
    if host in ("biorxiv.org", "medrxiv.org"):
        match = _BIORXIV_PATH.match(path)
        return (None, normalize_doi(match["doi"])) if match else (None, None)
    prefix = _PAPER_PATHS.get(host)
    if prefix and path.startswith(prefix):
        return _arxiv_only(path[len(prefix) :])
    return None, None


def _arxiv_only(text: str) -> tuple[str | None, str | None]:
    parsed = parse_arxiv_id(text) if text else None
    return (parsed[0], None) if parsed else (None, None)


def normalized_title(title: str) -> str:
    """Title folded for matching: accents and invisible format characters removed, case-folded,
    punctuation turned to spaces."""
    decomposed = unicodedata.normalize("NFKD", title or "")
    bare = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return " ".join(_NON_WORD.sub(" ", bare.casefold()).split())


def _first_surname(authors: tuple[str, ...]) -> str:
    if not authors:
        return ""
    name = authors[0]
    name = name.split(",", 1)[0] if "," in name else (name.split() or [""])[-1]
    return normalized_title(name)[:_SURNAME_MAX]


def paper_key(item: FeedItem) -> str:
    """The store's unique key: arxiv:<id>, else doi:<doi>, else title:<title>|<first surname>."""
    if item.arxiv_id:
        return f"arxiv:{item.arxiv_id}"
    if item.doi:
        arxiv = parse_arxiv_id(item.doi)
        if arxiv:
            return f"arxiv:{arxiv[0]}"
        return f"doi:{item.doi}"[:KEY_MAX]
    title = normalized_title(item.title)[:_TITLE_KEY_MAX].rstrip()
    return f"title:{title}|{_first_surname(item.authors)}"
