"""Why a pick was placed, in words that are true of the paper.

"matched: T" is said only when every concept of topic T (each informative word, as a stem or
as the acronym the corpus taught) occurs in the paper; a topic that placed the paper with only
some of its words is "partly on your topic T". The topic the pick serves (its section in the
email) is always named, first; the others only when they counted (NAMED_TOPIC_MIN). Seeds
are named by title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from textwrap import shorten

from digest.models import Paper, Profile
from digest.rank import matching as m
from digest.rank.batch import best_seed
from digest.rank.index import CorpusIndex, normalise_identifier

MAX_NAMED = 3
SEED_TITLE_CHARS = 90


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


def embedding_reasons(grounds: int, served: str | None, matches: Sequence[TopicMatch]) -> list[str]:
    """Reasons from the embeddings, said before the words' reasons: the served topic is "close
    in meaning" when it entered by its embedding (grounds bit 2) and none of its words are in
    the paper, so no word-based reason would name it; "like papers you asked for more of" when
    the learnt taste let it in (bit 4)."""
    reasons = []
    worded = any(t.text == served and t.weighted > 0 for t in matches)
    if grounds & 2 and served is not None and not worded:  # see .semantic
        reasons.append(f"close in meaning to your topic {served}")
    if grounds & 4:  # see .clicks
        reasons.append("like papers you asked for more of")
    return reasons


def relevance_reasons(
    profile: Profile,
    index: CorpusIndex,
    seeds: Sequence[Paper],
    doc: int,
    topics: list[str],
    near_ok: int,
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
    title = seed_title(seed, index, seeds) if seed is not None else None
    if title is not None:
        reasons.append(f"like your seed “{title}”")
    return reasons


def seed_title(seed: str, index: CorpusIndex, seed_papers: Sequence[Paper]) -> str | None:
    """The title a reason names a seed by (a reader knows their papers by title, not by id);
    None when its text is unknown, which also means nothing was found like it."""
    doc = index.find(seed)
    wanted = normalise_identifier(seed)
    paper = index.papers[doc] if doc is not None else None
    paper = paper or next(
        (p for p in seed_papers if wanted in {normalise_identifier(i) for i in m._ids(p)}), None
    )
    if paper is None or not paper.title.strip():
        return None
    return shorten(" ".join(paper.title.split()), SEED_TITLE_CHARS, placeholder="…")
