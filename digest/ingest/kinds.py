"""Source kinds: what `digest sources add` accepts, the shorthands it expands, how it guesses.

A kind decides three things the feed bytes alone cannot: whether a source is fetched in pages
(the arXiv API, the bioRxiv details API), how politely its host is treated, and whether every
entry of a generic RSS feed is only a *mention* of a paper (Hacker News, Reddit). Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit

from digest.errors import DigestError

KINDS: dict[str, str] = {
    "arxiv-rss": "arXiv listing feed (RSS or Atom), one category or several joined by +",
    "arxiv-api": "arXiv API query (Atom), fetched in pages of 100, one request every 3 s",
    "biorxiv": "bioRxiv or medRxiv details API (JSON), followed cursor by cursor",
    "journal": "journal RSS or Atom feed (DOI from prism/dc fields or the link)",
    "hf-daily": "Hugging Face daily papers (JSON API or an RSS mirror), upvotes as mentions",
    "mentions": "any feed whose entries link to papers (Hacker News, Reddit, blogs)",
    "rss": "any other RSS, Atom or JSON paper feed; the flavour is read from the content",
}
API_PAGE_SIZE = 100
API_MAX_PAGES = 10

_CATEGORY = re.compile(r"^[a-z-]+(?:\.[A-Za-z-]+)?$")
_BIORXIV_INTERVAL = re.compile(r"^(?:\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2}|\d{1,3}d|\d{1,4})$")
_MENTION_HOSTS = ("news.ycombinator.com", "hnrss.org", "reddit.com", "lobste.rs")
_JOURNAL_HOSTS = (
    "nature.com",
    "science.org",
    "cell.com",
    "pnas.org",
    "plos.org",
    "springer.com",
    "wiley.com",
    "sciencedirect.com",
    "acs.org",
    "aps.org",
    "iop.org",
    "bmj.com",
    "thelancet.com",
    "nejm.org",
    "jmlr.org",
    "mdpi.com",
    "frontiersin.org",
    "oup.com",
    "tandfonline.com",
    "elifesciences.org",
)
_FILE_HINTS = (
    ("arxiv-api", "arxiv-api"),
    ("arxiv-rss", "arxiv-rss"),
    ("biorxiv", "biorxiv"),
    ("medrxiv", "biorxiv"),
    ("hf-daily", "hf-daily"),
    ("daily_papers", "hf-daily"),
    ("hn-", "mentions"),
    ("reddit", "mentions"),
    ("nature", "journal"),
)


@dataclass(frozen=True)
class SourceSpec:
    """A source as it will be stored: the URL to fetch and the kind that reads it."""

    url: str
    kind: str
    name: str


def resolve_source(text: str, *, kind: str | None = None, name: str | None = None) -> SourceSpec:
    """Expand a shorthand or take a URL/path, and settle its kind (given, or guessed).

    Shorthands: ``arxiv:cs.CL``, ``arxiv:cs.AI+cs.LG``, ``arxiv-atom:cs.CL``,
    ``arxiv-api:cat:cs.CL AND abs:reward``, ``biorxiv:2026-08-01/2026-08-05``, ``medrxiv:7d``,
    ``hf:daily``. Raises DigestError for an unknown kind or a shorthand that cannot be right.
    """
    text = text.strip()
    if kind is not None and kind not in KINDS and kind != "auto":
        known = ", ".join(KINDS)
        raise DigestError(f"unknown source kind {kind!r}: use one of {known}")
    url, implied = _expand_shorthand(text)
    _require_fetchable(url)
    guessed = implied or guess_kind(url)
    final = guessed if kind in (None, "auto") else kind
    return SourceSpec(url=url, kind=final, name=name or _default_name(text, url))


_SHORTHANDS = "arxiv:, arxiv-atom:, arxiv-api:, biorxiv:, medrxiv:, hf:daily"


def _require_fetchable(url: str) -> None:
    """An http(s) URL with a host, a file:// URL, or a local file that exists: nothing else
    can be fetched, and a typo found at ingest time fails every day instead of once now."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise DigestError(f"not a URL with a host: {url!r}")
        return
    if scheme == "file":
        path = Path(unquote(parts.path))
    elif len(scheme) > 1:  # one letter is a Windows drive
        raise DigestError(
            f"cannot fetch {scheme}: sources are http(s) URLs, file paths or a shorthand"
            f" ({_SHORTHANDS}): {url!r}"
        )
    else:
        path = Path(url).expanduser()
    if not path.is_file():
        raise DigestError(f"no such feed file: {str(path)!r}")


def _default_name(text: str, url: str) -> str:
    return text if len(text) <= 200 else url[:200]


def _expand_shorthand(text: str) -> tuple[str, str | None]:
    prefix, sep, rest = text.partition(":")
    prefix = prefix.lower()
    if not sep or prefix in ("http", "https", "file") or len(prefix) == 1:
        return text, None
    if prefix in ("arxiv", "arxiv-rss", "arxiv-atom"):
        categories = [c.strip() for c in rest.split("+") if c.strip()]
        if not categories or not all(_CATEGORY.match(c) for c in categories):
            raise DigestError(f"not an arXiv category list: {rest!r} (e.g. arxiv:cs.AI+cs.LG)")
        flavour = "atom" if prefix == "arxiv-atom" else "rss"
        return f"https://rss.arxiv.org/{flavour}/{'+'.join(categories)}", "arxiv-rss"
    if prefix == "arxiv-api":
        if not rest.strip():
            raise DigestError("arxiv-api: needs a query, e.g. arxiv-api:cat:cs.CL AND abs:reward")
        return arxiv_api_url(rest.strip()), "arxiv-api"
    if prefix in ("biorxiv", "medrxiv"):
        interval = rest.strip().strip("/")
        if not _BIORXIV_INTERVAL.match(interval):
            raise DigestError(
                f"{prefix}: needs an interval like 2026-08-01/2026-08-05, 7d or 100: {rest!r}"
            )
        return f"https://api.{prefix}.org/details/{prefix}/{interval}/0", "biorxiv"
    if prefix in ("hf", "huggingface") and rest.strip() in ("", "daily", "daily_papers"):
        return "https://huggingface.co/api/daily_papers", "hf-daily"
    return text, None


def arxiv_api_url(query: str, *, start: int = 0, page_size: int = API_PAGE_SIZE) -> str:
    """The export.arxiv.org query URL for a search, newest submissions first."""
    params = {
        "search_query": query,
        "start": str(start),
        "max_results": str(page_size),
        "sortBy": "submittedDate",
        "sortOrder": "descending",
    }
    return "https://export.arxiv.org/api/query?" + urlencode(params, quote_via=quote)


def guess_kind(url: str) -> str:
    """The kind a URL most likely is; ``rss`` (flavour read from the content) when unsure."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        name = Path(parts.path if parts.scheme.lower() == "file" else url).name.lower()
        return next((kind for hint, kind in _FILE_HINTS if hint in name), "rss")
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path
    if host.endswith("arxiv.org") and path.startswith("/api/"):
        return "arxiv-api"
    if host == "rss.arxiv.org" or (host.endswith("arxiv.org") and path.startswith("/rss/")):
        return "arxiv-rss"
    if host in ("api.biorxiv.org", "api.medrxiv.org"):
        return "biorxiv"
    if host in ("huggingface.co", "hf.co") and "papers" in path:
        return "hf-daily"
    if host.endswith(_MENTION_HOSTS):
        return "mentions"
    if host.endswith(_JOURNAL_HOSTS):
        return "journal"
    return "rss"


def host_delay(url: str, default: float) -> float:
    """Seconds between two requests to this URL's host: arXiv's API asks for 3 s."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "export.arxiv.org" or (host.endswith("arxiv.org") and "/api/" in url):
        return max(default, 3.0)
    return default
