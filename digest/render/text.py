"""Text helpers the emails and the web pages share: dates, subjects, authors, excerpts, wrapping.

Pure functions on strings; the same in every locale, so an email reads the same wherever the
service runs. ``wrap`` is cached because titles and reasons repeat across thousands of emails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

import pysbd

SUBJECT_MAX = 120
EXCERPT_MAX = 300
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_SEGMENTER = pysbd.Segmenter(language="en", clean=False)
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "del", "della", "du", "dos"})
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def format_day(date: dt.date) -> str:
    """'Tue 24 Nov', the same in every locale."""
    return f"{_DAYS[date.weekday()]} {date.day} {_MONTHS[date.month - 1]}"


def format_date(date: dt.date) -> str:
    """'24 Nov 2026': a paper's date, where the year matters."""
    return f"{date.day} {_MONTHS[date.month - 1]} {date.year}"


def format_week(last: dt.date) -> str:
    """The seven days ending on ``last``: '23–29 Nov', '30 Nov – 6 Dec', or with the years."""
    first = last - dt.timedelta(days=6)
    end = f"{last.day} {_MONTHS[last.month - 1]}"
    if first.year != last.year:
        return f"{format_date(first)} – {format_date(last)}"
    if first.month != last.month:
        return f"{first.day} {_MONTHS[first.month - 1]} – {end}"
    return f"{first.day}–{end}"


def digest_period(date: dt.date, weekly: bool = False) -> str:
    """What a digest covers, after 'Your papers for': 'Tue 24 Nov' or 'the week of 18–24 Nov'."""
    return f"the week of {format_week(date)}" if weekly else format_day(date)


def digest_subject(date: dt.date, themes: Sequence[str], weekly: bool = False) -> str:
    """'Your papers for Tue 24 Nov: reward models, DPO +3': two themes, then how many more."""
    subject = f"Your papers for {digest_period(date, weekly)}"
    clean = [" ".join(t.split()) for t in themes if t.strip()]
    if not clean:
        return subject
    shown = clean[:2]
    while shown:
        rest = len(clean) - len(shown)
        candidate = f"{subject}: {', '.join(shown)}" + (f" +{rest}" if rest else "")
        if len(candidate) <= SUBJECT_MAX:
            return candidate
        shown = shown[:-1]
    return _cut_words(f"{subject}: {clean[0]}", SUBJECT_MAX)


def shorten_author(name: str) -> str:
    """'R. Michael Alvarez' → 'R. Alvarez'; 'Jean-Pierre van der Berg' → 'J.-P. van der Berg'."""
    if "," in name:
        surname, _, given = name.partition(",")
        name = f"{given.strip()} {surname.strip()}"
    words = name.split()
    if len(words) < 2:
        return name.strip()
    suffix = ""
    if words[-1].lower() in _SUFFIXES and len(words) > 2:
        suffix = " " + words.pop()
    start = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i].lower() in _PARTICLES:
            start = i
            break
    initials = "-".join(part[0] + "." for part in words[0].split("-") if part)
    return f"{initials} {' '.join(words[start:])}{suffix}"


def shorten_authors(authors: Sequence[str], shown: int = 2) -> str:
    """'A. Author, B. Author et al.': all names when at most ``shown + 1``, else ``shown``."""
    names = [shorten_author(a) for a in authors if a.strip()]
    if len(names) <= shown + 1:
        return ", ".join(names)
    return ", ".join(names[:shown]) + " et al."


@lru_cache(maxsize=8192)
def excerpt(abstract: str, limit: int = EXCERPT_MAX, sentences: int = 2) -> str:
    """Up to ``sentences`` whole sentences within ``limit`` characters; else cut between words.

    Sentences are found by pysbd, which knows 'et al.', 'e.g.' and decimals from sentence ends.
    Cached: the web pages ask again for the same abstracts.
    """
    text = " ".join(abstract[: limit * 4].split())
    kept = ""
    for sentence in _SEGMENTER.segment(text)[:sentences]:
        candidate = f"{kept} {sentence.strip()}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    return kept or _cut_words(text, limit)


def _cut_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit - 1].rstrip(" ,;:-") + "…"


def safe_url(url: str | None) -> str | None:
    """The URL if it is absolute http(s), else None: feed URLs never become other hrefs."""
    if not url:
        return None
    url = url.strip()
    scheme = url.split(":", 1)[0].lower()
    return url if scheme in ("http", "https") and url[len(scheme) :].startswith("://") else None


@lru_cache(maxsize=16384)
def wrap(text: str, width: int = 78, indent: str = "", first: str | None = None) -> str:
    """Greedy word wrap for the text part; ``first`` replaces ``indent`` on the first line.

    Long URLs keep a line of their own; no line passes 998 characters (RFC 5322). Cached:
    titles and reasons repeat across thousands of subscribers' emails.
    """
    lines: list[str] = []
    prefix = indent if first is None else first
    line = ""
    for word in text.split():
        while len(word) > 900:
            lines.append(prefix + word[:900])
            word, prefix = word[900:], indent
        if line and len(prefix) + len(line) + 1 + len(word) > width:
            lines.append(prefix + line)
            line, prefix = "", indent
        line = f"{line} {word}" if line else word
    if line:
        lines.append(prefix + line)
    return "\n".join(lines)


def bullets(items: Sequence[str], width: int = 78) -> str:
    """'  - item' lines for the text part."""
    return "\n".join(wrap(item, width, "    ", first="  - ") for item in items)
