""" "More like this" / "less like this": how one click moves a profile, as a pure function.

A "more" click makes the paper a seed (its vocabulary lifts similar papers); a "less" click
makes it a negative seed, written with a leading "-" in ``Profile.seeds`` ("-2401.01234"),
which lowers similar papers. Clicks never rewrite the reader's topics or the weights they
typed: what the ratings teach beyond the seeds is the learnt model of :mod:`.clicks`, kept in
``Profile.learnt`` beside them.
"""

from __future__ import annotations

import dataclasses

from digest.models import Paper, Profile
from digest.rank.index import normalise_identifier

NEGATIVE_PREFIX = "-"
DIRECTIONS = ("more", "less")
MAX_SEEDS = 50  # oldest clicks fall off first


def is_negative(seed: str) -> bool:
    return seed.startswith(NEGATIVE_PREFIX)


def paper_identifier(paper: Paper) -> str | None:
    """The identifier a seed uses for this paper: its arXiv id, else its DOI."""
    return paper.arxiv_id or paper.doi


def profile_after_feedback(profile: Profile, paper: Paper, direction: str) -> Profile:
    """The profile after one click; the same profile when the click changes nothing."""
    if direction not in DIRECTIONS:
        raise ValueError(f"feedback direction must be more or less: {direction!r}")
    seeds = list(profile.seeds)
    identifier = paper_identifier(paper)
    if identifier is not None:
        key = normalise_identifier(identifier)
        seeds = [s for s in seeds if normalise_identifier(s.lstrip(NEGATIVE_PREFIX)) != key]
        seeds.append(identifier if direction == "more" else NEGATIVE_PREFIX + identifier)
        seeds = seeds[-MAX_SEEDS:]
    return dataclasses.replace(profile, seeds=tuple(seeds))
