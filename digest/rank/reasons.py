"""Why a pick was placed, in words that are true of the paper.

"matched: T" is said only when every concept of topic T (each informative word, as a stem or
as the acronym the corpus taught) occurs in the paper; a topic that placed the paper with only
some of its words is "partly on your topic T". The topic the pick serves (its section in the
email) is always named, first; the others only when they counted (NAMED_TOPIC_MIN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from digest.models import Paper, Profile
from digest.rank import matching as m
from digest.rank.batch import best_seed
from digest.rank.index import CorpusIndex

MAX_NAMED = 3


@dataclass(frozen=True)
class TopicMatch:
    """One profile topic against one paper: its weighted strength, and whether all its
    concepts occur in the paper."""

    text: str
    weighted: float
    complete: bool


def topic_reasons(served: str | None, matches: Sequence[TopicMatch]) -> list[str]:
    """The topic part of a pick's reasons: the served topic first, then those that counted."""
    ranked = sorted(matches, key=lambda t: (t.text != served, -t.weighted, t.text))
    named = [
        t
        for t in ranked
        if t.weighted > 0 and (t.text == served or t.weighted >= m.NAMED_TOPIC_MIN)
    ]
    named = named[:MAX_NAMED]
    full = [t.text for t in named if t.complete]
    partial = [t.text for t in named if not t.complete]
    reasons = []
    if full:
        reasons.append("matched: " + ", ".join(full))
    if partial:
        noun = "topic" if len(partial) == 1 else "topics"
        reasons.append(f"partly on your {noun} " + ", ".join(partial))
    if named and not named[0].complete:
        reasons.reverse()  # the served topic's reason comes first
    return reasons


def relevance_reasons(
    profile: Profile,
    index: CorpusIndex,
    seeds: Sequence[Paper],
    doc: int,
    topics: list[str],
    near_ok: bool,
    boosts: list[bool],
) -> list[str]:
    """What earned paper ``doc`` its relevance: ``topics`` (from :func:`topic_reasons`) and
    the other grounds :mod:`.batch` found for it."""
    paper = index.papers[doc]
    reasons = list(topics)
    if near_ok and not topics:
        reasons.append("close to today's best matches for your topics")
    author = m.followed_author(paper, profile.authors) if boosts[0] else None
    if author is not None:
        reasons.append(f"by an author you follow: {author}")
    category = m.matching_category(paper, profile.categories) if boosts[1] else None
    if category is not None:
        reasons.append(f"in {category}")
    seed = best_seed(profile, index, seeds, doc) if boosts[2] else None
    if seed is not None:
        reasons.append(f"like your seed {seed}")
    return reasons
