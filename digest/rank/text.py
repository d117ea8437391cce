"""Text analysis shared by the index and the queries: tokens, stems, stop words, acronyms.

Papers and subscriber topics go through the same functions, so a topic word and a paper word
meet as the same stem. Stop words are dropped before positions are counted, which lets
"reward models for RLHF" match "reward models of RLHF" as a phrase.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from snowballstemmer.english_stemmer import EnglishStemmer

_STOP_WORD_LIST = """
    a about above after again against all almost also although am among an and any are as at
    be because been before being below between both but by can could did do does doing done down
    during each either else etc ever every few for from further had has have having he her here
    hers him his how however i if in into is it its itself just may me might more most much must
    my neither no nor not now of off often on once only or other others our ours out over own per
    perhaps rather same several she should since so some such than that the their theirs them
    then there therefore these they this those though through thus to too under until up upon us
    very via was we were what whatever when where whether which while who whom whose why will with
    within without would yet you your yours"""
STOP_WORDS = frozenset(_STOP_WORD_LIST.split())

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_VOWELS = frozenset("aeiouy")
# Not snowballstemmer.stemmer: it imports every language. One stemmer per thread: a stemmer
# keeps its word in instance state, so two threads stemming at once (a web ranking beside the
# scheduler's in `digest serve`) corrupted each other's words and raised IndexError.
_STEMMERS = threading.local()


def _stemmer() -> EnglishStemmer:
    stemmer: EnglishStemmer | None = getattr(_STEMMERS, "stemmer", None)
    if stemmer is None:
        stemmer = _STEMMERS.stemmer = EnglishStemmer()
    return stemmer


@dataclass(frozen=True)
class Token:
    """One content word: its surface form, its stem, and alias stems at the same position."""

    surface: str
    stem: str
    aliases: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Müller" and "Muller" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@functools.lru_cache(maxsize=262_144)
def stem(word: str) -> str:
    """Stem one word; acronym plurals ("LLMs", "llms", "VLMs") lose their final s.

    Cached: a day's papers repeat a few thousand words many times over.
    """
    if len(word) >= 3 and word.endswith("s") and word[:-1].isupper():
        return word[:-1].lower()
    lowered = fold(word)
    stemmed: str = _stemmer().stemWord(lowered)
    if len(stemmed) >= 4 and stemmed.endswith("s") and not (set(stemmed[:-1]) & _VOWELS):
        return stemmed[:-1]
    return stemmed


def _words(text: str) -> Iterator[tuple[str, bool]]:
    """Yield (word, joins_next) pairs: hyphenated words are split, flagged as joined."""
    for match in _WORD.finditer(text):
        parts = re.split(r"[-'’]", match.group())
        for i, part in enumerate(parts):
            yield part, i < len(parts) - 1


def tokenize(text: str) -> list[Token]:
    """Content tokens of ``text`` in order, stop words and bare digits/possessives removed.

    A hyphenated word ("pre-training", "on-policy") also carries its last two parts joined as
    an alias stem on the last part, so "pretraining" finds it and "on-policy" keeps its "on".
    """
    tokens: list[Token] = []
    previous: str | None = None
    for word, joins_next in _words(text):
        lowered = fold(word)
        if lowered in STOP_WORDS or lowered in {"s", "t"} or (len(word) == 1 and word.isdigit()):
            previous = lowered if joins_next else None
            continue
        aliases: tuple[str, ...] = ()
        if previous is not None:
            aliases = (stem(previous + lowered),)
        tokens.append(Token(word, stem(word), aliases))
        previous = lowered if joins_next else None
    return tokens


def stems(text: str) -> list[str]:
    return [token.stem for token in tokenize(text)]


_PAREN = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9\-]{1,11})\s*[);,]")
_CLAUSE_BREAK = re.compile(r"[.;:!?()\[\]]")


def is_acronym(word: str) -> bool:
    """A short form like "DPO", "RLHF", "LLMs", "MoE", "ViT": at least two capitals."""
    core = word[:-1] if word.endswith("s") and word[:-1].isupper() else word
    return 2 <= len(core) <= 10 and sum(c.isupper() for c in core) >= 2 and core[0].isalpha()


def _long_form(short: str, before: str) -> str | None:
    """Schwartz-Hearst: the shortest text ending ``before`` whose letters spell ``short``."""
    letters = [c.lower() for c in short if c.isalnum()]
    if short.endswith("s") and short[:-1].isupper():
        letters = letters[:-1]
    text = before.lower()
    s_idx, l_idx = len(letters) - 1, len(text) - 1
    while s_idx >= 0:
        wanted = letters[s_idx]
        while l_idx >= 0 and (
            text[l_idx] != wanted or (s_idx == 0 and l_idx > 0 and text[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = max(text.rfind(" ", 0, l_idx + 1), text.rfind("-", 0, l_idx + 1)) + 1
    return before[start:].strip()


def find_acronyms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Definitions written as "Direct Preference Optimization (DPO)" in ``text``.

    Returns (acronym stem, long-form stems) pairs; the long form must have two or more content
    words and no more words than the acronym has letters plus two.
    """
    found: list[tuple[str, tuple[str, ...]]] = []
    for match in _PAREN.finditer(text):
        short = match.group(1).replace("-", "")
        if not is_acronym(short):
            continue
        before = _CLAUSE_BREAK.split(text[: match.start()])[-1]
        words = before.split()
        window = " ".join(words[-(len(short) + 4) :])
        long_form = _long_form(short, window)
        if not long_form:
            continue
        long_stems = tuple(stems(long_form))
        if 2 <= len(long_stems) <= len(short) + 2 and len(long_form.split()) <= len(short) + 4:
            found.append((stem(short), long_stems))
    return found
