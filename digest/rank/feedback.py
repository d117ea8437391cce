""" "More like this" / "less like this": how one click moves a profile, as a pure function.

A "more" click makes the paper a seed (its vocabulary lifts similar papers); a "less" click
makes it a negative seed, written with a leading "-" in ``Profile.seeds`` ("-2401.01234"),
which lowers similar papers. The topics the paper matched are nudged up or down by a bounded
factor, so a reader's clicks steer the weights without ever silencing or doubling a topic.
"""

from __future__ import annotations

import dataclasses

from digest.models import Paper, Profile, Topic
from digest.rank.index import normalise_identifier
from digest.rank.text import stems

NEGATIVE_PREFIX = "-"
NUDGE = {"more": 1.2, "less": 0.8}
MIN_WEIGHT, MAX_WEIGHT = 0.25, 4.0
TOPIC_SHARE = 0.5  # a topic "matched" the paper when this share of its stems is in it
MAX_SEEDS = 50  # oldest clicks fall off first


def is_negative(seed: str) -> bool:
    return seed.startswith(NEGATIVE_PREFIX)


def paper_identifier(paper: Paper) -> str | None:
    """The identifier a seed uses for this paper: its arXiv id, else its DOI."""
    return paper.arxiv_id or paper.doi


def matched_topics(profile: Profile, paper: Paper) -> list[str]:
    """The profile topics most of whose words occur in the paper's title or abstract."""
    present = set(stems(f"{paper.title} {paper.abstract}"))
    found = []
    for topic in profile.topics:
        words = set(stems(topic.text))
        if words and len(words & present) >= TOPIC_SHARE * len(words):
            found.append(topic.text)
    return found


def profile_after_feedback(profile: Profile, paper: Paper, direction: str) -> Profile:
    """The profile after one click; the same profile when the click changes nothing."""
    if direction not in NUDGE:
        raise ValueError(f"feedback direction must be more or less: {direction!r}")
    seeds = list(profile.seeds)
    identifier = paper_identifier(paper)
    if identifier is not None:
        key = normalise_identifier(identifier)
        seeds = [s for s in seeds if normalise_identifier(s.lstrip(NEGATIVE_PREFIX)) != key]
        seeds.append(identifier if direction == "more" else NEGATIVE_PREFIX + identifier)
        seeds = seeds[-MAX_SEEDS:]
    nudged = set(matched_topics(profile, paper))
    topics = tuple(
        Topic(t.text, _bounded(t.weight * NUDGE[direction])) if t.text in nudged else t
        for t in profile.topics
    )
    return dataclasses.replace(profile, seeds=tuple(seeds), topics=topics)


def _bounded(weight: float) -> float:
    return round(min(max(weight, MIN_WEIGHT), MAX_WEIGHT), 4)
