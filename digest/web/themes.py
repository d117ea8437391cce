"""Today's themes: the noun phrases many of the day's papers share, offered as topics.

Text counting over titles and abstracts, no ranking: the suggestions only have to be words
people would type as a topic, and the ranker decides what matches them. A theme reads as a
topic: a noun (or an unknown word, mostly acronyms and hyphenated terms) after a noun or
adjective, never a verb ("achieves superior"); the parts of speech a word can take come from
LemmInflect's bundled English dictionary, which also makes "language model" and "language
models" one theme, shown in the form most papers use.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import lemminflect

from digest.models import Paper
from digest.rank.text import STOP_WORDS

THEMES_SHOWN = 8
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_CLAUSE = re.compile(r"[.;:!?()\[\],\"“”]")
# Words that make a phrase about the paper rather than about a subject.
_GENERIC_WORDS = """
    paper propose proposed proposes approach method methods result results show shows task
    tasks based using new novel work study framework performance existing across two three one
    first however extensive experiments experimental demonstrate demonstrates state art code
    available project page benchmark benchmarks large small simple effective efficient recent
    significant significantly paradigm key main further make makes made use used remains
    challenging underexplored strong potential baselines high higher larger single cost costs
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())


@functools.lru_cache(maxsize=65536)
def _tags(word: str) -> frozenset[str]:
    """The parts of speech the dictionary knows for ``word``; empty for a word it lacks."""
    return frozenset(lemminflect.getAllLemmas(word))


def _can_head(word: str) -> bool:
    tags = _tags(word)
    return not tags or "NOUN" in tags or "PROPN" in tags


def _can_modify(word: str, head: str) -> bool:
    """A noun or adjective; or a past participle ("supervised fine-tuning") before a head
    that cannot be an adjective ("achieved superior" is a verb and its object)."""
    tags = _tags(word)
    if not tags or tags & {"NOUN", "PROPN", "ADJ"}:
        return True
    return "VERB" in tags and word.endswith("ed") and "ADJ" not in _tags(head)


@functools.lru_cache(maxsize=65536)
def _singular(word: str) -> str:
    lemmas = lemminflect.getAllLemmas(word).get("NOUN")
    return lemmas[0] if lemmas else word


def _phrases(text: str) -> dict[str, str]:
    """The two-word noun phrases of ``text`` with no stop word, generic word or number in
    them, each under its key (head noun in the singular) → as written."""
    found = {}
    for clause in _CLAUSE.split(text):
        words = [w.lower() for w in _WORD.findall(clause)]
        for first, second in zip(words, words[1:], strict=False):
            if any(w in STOP_WORDS or w in _GENERIC or w.isdigit() for w in (first, second)):
                continue
            if len(first) < 3 or len(second) < 3:
                continue
            if _can_head(second) and _can_modify(first, second):
                found[f"{first} {_singular(second)}"] = f"{first} {second}"
    return found


def suggest_themes(candidates: Sequence[Paper], limit: int = THEMES_SHOWN) -> list[str]:
    """Today's themes: the phrases most papers share (at least two), most papers first.

    Counted once per paper over its title and abstract, so one long abstract cannot make a
    theme; a phrase inside a longer counted one still counts on its own.
    """
    counts: Counter[str] = Counter()
    forms: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for paper in candidates:
        found = _phrases(f"{paper.title}. {paper.abstract}")
        counts.update(found.keys())
        for key, written in found.items():
            forms[key][written] += 1
    ranked = sorted((n, key) for key, n in counts.items() if n >= 2)
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [_usual(forms[key]) for _, key in ranked[:limit]]


def _usual(forms: Counter[str]) -> str:
    """The form most papers wrote; on a tie the plural, which reads as a topic."""
    return max(forms, key=lambda form: (forms[form], len(form), form))
