"""Text helpers the emails and the web pages share: dates, subjects, authors, excerpts, wrapping.

Pure functions on strings; the same in every locale, so an email reads the same wherever the
service runs. ``wrap`` is cached because titles and reasons repeat across thousands of emails.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache

SUBJECT_MAX = 120
EXCERPT_MAX = 450
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_SENTENCE_END = re.compile(r"([.!?][\"')\]]?)\s+(?=[A-Z\"'(\[])")
_ABBREVIATIONS = frozenset({"al.", "e.g.", "i.e.", "cf.", "vs.", "fig.", "eq.", "sec.", "approx."})
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "del", "della", "du", "dos"})
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def format_day(date: dt.date) -> str:
    """'Tue 24 Nov', the same in every locale."""
    return f"{_DAYS[date.weekday()]} {date.day} {_MONTHS[date.month - 1]}"


def digest_subject(date: dt.date, themes: Sequence[str]) -> str:
    """'Your papers for Tue 24 Nov: reward models, DPO +3': two themes, then how many more."""
    subject = f"Your papers for {format_day(date)}"
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


def shorten_authors(authors: Sequence[str], shown: int = 3) -> str:
    """'A. Author, B. Author, C. Author, +5'."""
    names = [shorten_author(a) for a in authors[:shown] if a.strip()]
    more = len(authors) - shown
    return ", ".join(names + ([f"+{more}"] if more > 0 else []))


def excerpt(abstract: str, limit: int = EXCERPT_MAX, sentences: int = 3) -> str:
    """Up to ``sentences`` whole sentences within ``limit`` characters; else cut between words."""
    abstract = abstract.lstrip()
    text = " ".join(abstract[: limit * 4].split())
    ends = []
    for match in _SENTENCE_END.finditer(text, 0, limit + 2):
        end = match.end(1)
        word = text[text.rfind(" ", 0, end) + 1 : end].lower()
        if word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", word):
            continue
        ends.append(end)
    if len(abstract) <= limit * 4:
        ends.append(len(text))
    fitting = [end for end in ends[:sentences] if end <= limit]
    if fitting:
        return text[: fitting[-1]]
    return _cut_words(text, limit)


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
