"""Which page to fetch next for the paged APIs: arXiv's query API and bioRxiv's details API.

Both say how many results exist in the page itself (opensearch:totalResults; messages[0].total
and count), so the next URL is decided from the bytes just read, without parsing the entries.
Pure; the caller bounds the number of pages.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TOTAL = re.compile(rb"<opensearch:totalResults[^>]*>\s*(\d+)\s*<")
_ENTRY = re.compile(rb"<entry[\s>]")
_BIORXIV_CURSOR = re.compile(
    r"^(?P<head>/details/[a-z]+/[^/]+(?:/[^/]+)?)/(?P<cursor>\d+)(?P<tail>/json)?/?$"
)


def next_page_url(kind: str, url: str, body: bytes) -> str | None:
    """The URL of the page after ``body`` (fetched from ``url``), or None when it was the last."""
    if kind == "arxiv-api":
        return _next_arxiv_page(url, body)
    if kind == "biorxiv":
        return _next_biorxiv_page(url, body)
    return None


def _next_arxiv_page(url: str, body: bytes) -> str | None:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "id_list" in params and params["id_list"] and "search_query" not in params:
        return None
    total = _TOTAL.search(body[:20_000])
    entries = len(_ENTRY.findall(body))
    start = _int(params.get("start"), 0)
    size = _int(params.get("max_results"), 10)
    if total is None or entries == 0 or entries < size or start + entries >= int(total[1]):
        return None
    params["start"] = str(start + entries)
    return urlunsplit(parts._replace(query=urlencode(params)))


def _next_biorxiv_page(url: str, body: bytes) -> str | None:
    parts = urlsplit(url)
    match = _BIORXIV_CURSOR.match(parts.path)
    if match is None:
        return None
    try:
        message = json.loads(body)["messages"][0]
        count, total = int(message["count"]), int(message["total"])
        cursor = int(message.get("cursor", match["cursor"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if count <= 0 or cursor + count >= total:
        return None
    path = f"{match['head']}/{cursor + count}{match['tail'] or ''}"
    return urlunsplit(parts._replace(path=path))


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default
