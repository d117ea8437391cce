"""Today's themes: the phrases many of the day's papers share, offered as topic suggestions.

Pure text counting over titles and abstracts, no ranking: the suggestions only have to be
words people would type as a topic, and the ranker decides what matches them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

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


def _phrases(text: str) -> set[str]:
    """The two-word phrases of ``text`` with no stop word, generic word or number in them."""
    found = set()
    for clause in _CLAUSE.split(text):
        words = [w.lower() for w in _WORD.findall(clause)]
        for first, second in zip(words, words[1:], strict=False):
            if any(w in STOP_WORDS or w in _GENERIC or w.isdigit() for w in (first, second)):
                continue
            if len(first) > 2 and len(second) > 2:
                found.add(f"{first} {second}")
    return found


def suggest_themes(candidates: Sequence[Paper], limit: int = THEMES_SHOWN) -> list[str]:
    """Today's themes: the phrases most papers share (at least two), most papers first.

    Counted once per paper over its title and abstract, so one long abstract cannot make a
    theme; a phrase inside a longer counted one still counts on its own.
    """
    counts: Counter[str] = Counter()
    for paper in candidates:
        counts.update(_phrases(f"{paper.title}. {paper.abstract}"))
    ranked = sorted((n, phrase) for phrase, n in counts.items() if n >= 2)
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [phrase for _, phrase in ranked[:limit]]
