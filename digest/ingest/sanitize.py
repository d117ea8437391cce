"""Feed text, URLs and dates made safe to store: plain text, http(s) links, sane UTC times.

Feeds are written by strangers. Everything a parser keeps passes through here, so the store and
the templates can rely on three facts: text fields hold no markup, URLs are http(s), and dates
are timezone-aware UTC values within a plausible range.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import re
import time
import unicodedata
from collections.abc import Iterable
from typing import Any

import nh3

from digest.models import FeedItem

TITLE_MAX = 1_000
ABSTRACT_MAX = 20_000
AUTHOR_MAX = 300
AUTHORS_MAX = 200
CATEGORY_MAX = 100
CATEGORIES_MAX = 50
URL_MAX = 2_000

EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(days=2)

# A tag as a browser reads one: a name, then (after a space or "/") attributes whose quoted
# values may hold "<" and ">", up to the closing ">"; or a comment, doctype or processing
# instruction. Any other "<" is text and is escaped first, so the HTML parser does not swallow
# the rest of the field: "a<b." has no ">", and TeX wins where it meets a would-be tag (a "$"
# or a backslash outside quotes, as in "$a<b $c>d$"). Possessive: an unclosed tag costs a scan.
_TAG_NAME = r"/?[A-Za-z][A-Za-z0-9:-]*"
_TAG_REST = r"""(?:[\s/](?:=\s*"[^"]*"|=\s*'[^']*'|[^<>$\\])*+)?>"""
_MARKUP = rf"(?P<tag>{_TAG_NAME}){_TAG_REST}|!--.*?-->|[!?][^<>]*>"
_TAG_OR_LT = re.compile(rf"<(?:{_MARKUP})|<", re.S)
_REAL_TAG = re.compile(rf"<(?:{_MARKUP})", re.S)
_BLOCK_TAGS = frozenset(
    ("p", "br", "div", "li", "tr", "td", "th", "ul", "ol", "table", "blockquote")
    + ("h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "section", "article")
)
# The parser drops what these hold. Every other tag reaches it as a plain span, because it also
# drops MathML and SVG whole (a formula's text would go) and moves text out of tables.
_CONTENT_DROPPED = frozenset({"script", "style"})
_PARTIAL_TAG_AT_END = re.compile(r"<[^<>]*\Z")
_UNCLOSED_TAG_AT_END = re.compile(r"<[A-Za-z][\w:-]*[\s/]+[^\s/<>\"'=]+\s*=[^<>]*\Z")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_STRIP_PASSES = 4
# Characters that show nothing but change a string: controls, zero-width and joiners, soft
# hyphen, bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9), BOM, tag characters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2069\ufeff\U000e0000-\U000e007f]"
)
# For ids: a tag only when its name ends at a space, "/" or ">", so "<doi:10.1/x>" and SICI
# DOIs such as "10.1002/(SICI)...35:4<479::AID-JBM8>3.0.CO;2-H" keep their angle brackets.
_ID_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:[\s/][^<>]*)?>")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _mark_tags(match: re.Match[str]) -> str:
    tag = match.group("tag")
    if tag is None:
        return "&lt;" if match.group(0) == "<" else match.group(0)
    name = tag.lower().lstrip("/")
    if name in _CONTENT_DROPPED:
        return match.group(0)
    span = "</span>" if tag.startswith("/") else "<span>"
    return " " + span if name in _BLOCK_TAGS else span


def _strip_markup(text: str) -> str:
    """Tags removed, text kept, entities decoded once; markup escaped again inside the feed
    (and tags that removing others would reassemble) is stripped by further passes."""
    cleaned = html.unescape(nh3.clean(_TAG_OR_LT.sub(_mark_tags, text), tags=set()))
    for _ in range(_STRIP_PASSES):
        if "<" not in cleaned or not _REAL_TAG.search(cleaned):
            break
        cleaned = html.unescape(nh3.clean(_TAG_OR_LT.sub(_mark_tags, cleaned), tags=set()))
    else:
        if _REAL_TAG.search(cleaned):  # still markup after every pass: break each tag open
            cleaned = _TAG_START.sub("< ", cleaned)
    return _UNCLOSED_TAG_AT_END.sub("", cleaned)


def plain_identifier(value: str) -> str:
    """An id, DOI or link as the characters it means, so one paper cannot hide behind variants.

    Entities are decoded, the text NFKC-normalised (fullwidth digits become ASCII), tags and
    invisible or bidirectional characters removed, and the ends trimmed.
    """
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), value) if "&" in value else value
    if not (text.isascii() and text.isprintable()):
        text = unicodedata.normalize("NFKC", text)
        text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    if "<" in text:
        text = _ID_TAG.sub("", text)
    return text.strip()


def clean_text(value: object, limit: int) -> str:
    """Plain text from feed text or HTML: tags stripped, entities decoded once, spaces collapsed.

    The raw value is cut well before parsing so a gigantic field costs little; the result is
    at most ``limit`` characters, ending in an ellipsis when it was cut.
    """
    if not isinstance(value, str) or not value:
        return ""
    text = value
    if len(text) > limit * 4 + 1_000:
        text = _PARTIAL_TAG_AT_END.sub("", text[: limit * 4 + 1_000])
    if "<" in text or "&" in text:
        text = _strip_markup(text)
    text = " ".join(_INVISIBLE.sub("", text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def clean_names(values: Iterable[object], *, limit: int, count: int) -> tuple[str, ...]:
    """Cleaned, non-empty, de-duplicated names (authors, categories), at most ``count``."""
    names: list[str] = []
    seen: set[str] = set()
    for value in values:
        name = clean_text(value, limit)
        if name and name not in seen:
            seen.add(name)
            names.append(name)
            if len(names) >= count:
                break
    return tuple(names)


def clean_url(value: object) -> str | None:
    """An absolute http(s) URL, or None: javascript:, data:, relative and oversized links go."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url.lower().startswith(("http://", "https://")) or len(url) > URL_MAX:
        return None
    if any(ch.isspace() or ch in '<>"' for ch in url) or _INVISIBLE.search(url):
        return None
    return url


def clean_datetime(value: object, *, now: dt.datetime) -> dt.datetime | None:
    """An aware UTC datetime within [1990, now + 2 days], else None.

    Accepts datetimes (naive ones are taken as UTC), feedparser's UTC ``struct_time`` and ISO
    8601 strings (date-only too). Out-of-range values are dropped, not clamped: a wrong date
    must not push a paper to the top of a "newest" list.
    """
    moment: dt.datetime | None
    try:
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, time.struct_time):
            moment = dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC)
        elif isinstance(value, str) and value.strip():
            moment = dt.datetime.fromisoformat(value.strip())
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    now = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now
    if moment < EARLIEST or moment > now + FUTURE_SLACK:
        return None
    return moment


def one_line(message: object, limit: int = 300) -> str:
    """A message squeezed onto one short line, for warnings and drop reasons."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_weight(value: object) -> float:
    """Upvotes or points as a finite, non-negative float; anything else counts as 0."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        weight = float(value)
    elif isinstance(value, str):
        try:
            weight = float(value.replace(",", "").strip())
        except ValueError:
            return 0.0
    else:
        return 0.0
    return weight if 0.0 <= weight <= 1e9 else 0.0


def sanitized_item(
    *,
    now: dt.datetime,
    title: object,
    abstract: object = "",
    authors: Iterable[object] = (),
    categories: Iterable[object] = (),
    published: object = None,
    updated: object = None,
    url: object = None,
    pdf_url: object = None,
    code_url: object = None,
    mention_url: object = None,
    weight: object = 0.0,
    **identity: Any,
) -> FeedItem:
    """A FeedItem from raw feed values: the one place every text, URL and date is cleaned.

    ``identity`` passes through the fields that parsers already validated (arxiv_id, version,
    doi, announce_type, is_mention).
    """
    return FeedItem(
        title=clean_text(title, TITLE_MAX),
        abstract=clean_text(abstract, ABSTRACT_MAX),
        authors=clean_names(authors, limit=AUTHOR_MAX, count=AUTHORS_MAX),
        categories=clean_names(categories, limit=CATEGORY_MAX, count=CATEGORIES_MAX),
        published=clean_datetime(published, now=now),
        updated=clean_datetime(updated, now=now),
        url=clean_url(url),
        pdf_url=clean_url(pdf_url),
        code_url=clean_url(code_url),
        mention_url=clean_url(mention_url),
        weight=clean_weight(weight),
        **identity,
    )
