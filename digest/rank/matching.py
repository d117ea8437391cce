"""One subscriber's profile against the index: topic relevance, exclusions, seeds, authors.

The decisions of *whether* a paper is relevant and *why* live here; ordering and trending live
in :mod:`digest.rank.select`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from digest.models import Paper, Profile
from digest.rank.feedback import is_negative
from digest.rank.index import CorpusIndex, normalise_identifier
from digest.rank.relevance import (
    analyse_query,
    saturate_strength,
    score_query,
)
from digest.rank.text import fold, stems
from digest.rank.vectors import cosines, nearness, vector_of

OTHER_TOPIC_SHARE = 0.3  # a paper's second and further topics count this much
NAMED_TOPIC_MIN = 0.15  # a topic this relevant is named in the reasons
EXCLUDE_TITLE_COVERAGE = 0.75  # an exclusion whose informative words are this much in the title
EXCLUDE_MARGIN = 0.05  # an exclusion must beat the best topic by this to drop a paper
CATEGORY_BOOST = 0.1
AUTHOR_BOOST = 0.35
SEED_SHARE = 0.4
SEED_FULL_COSINE = 0.3
SEED_MIN_SIMILARITY = 0.2
NEGATIVE_SEED_SHARE = 0.6  # a paper just like a "less like this" paper keeps 40%
CONTEXT_WEIGHT = 0.7  # share of topic relevance that depends on being near the profile centre
NEAR_MIN = 0.5  # a paper this near the centre may enter without a topic word
NEAR_SHARE = 0.3  # what nearness alone can earn


@dataclass(frozen=True)
class PaperMatch:
    """Why a paper is relevant to one profile: the combined relevance and its grounds."""

    relevance: float
    topic: str | None  # the profile topic it matched best
    reasons: tuple[str, ...]


def _topic_matches(profile: Profile, index: CorpusIndex) -> dict[int, list[tuple[float, str]]]:
    """Per paper, (weighted relevance, topic text) for every topic that matched, best first."""
    per_paper: dict[int, list[tuple[float, str]]] = {}
    for topic in profile.topics:
        if not topic.text.strip() or topic.weight <= 0:
            continue
        for doc, match in score_query(analyse_query(topic.text, index), index).items():
            weighted = saturate_strength(match.strength * topic.weight)
            per_paper.setdefault(doc, []).append((weighted, topic.text))
    for matches in per_paper.values():
        matches.sort(key=lambda m: (-m[0], m[1]))
    return per_paper


def combine(relevances: Iterable[float], shares: Iterable[float]) -> float:
    """Noisy-OR of scores in 0..1: stays in 0..1 and never falls when one more thing matches."""
    miss = 1.0
    for relevance, share in zip(relevances, shares, strict=False):
        miss *= 1.0 - min(max(relevance * share, 0.0), 1.0)
    return 1.0 - miss


def _shares(n: int) -> list[float]:
    return [1.0] + [OTHER_TOPIC_SHARE] * (n - 1)


def _author_key(name: str) -> tuple[str, str]:
    """(surname, first initial), accent- and case-folded: "Müller, Anna" → ("muller", "a")."""
    text = fold(name).replace(".", " ")
    if "," in text:
        surname, first = (part.strip() for part in text.split(",", 1))
        surname = surname.split()[-1] if surname.split() else ""
    else:
        parts = text.split()
        surname, first = (parts[-1], parts[0]) if len(parts) > 1 else (text.strip(), "")
    return surname, first[:1]


def followed_author(paper: Paper, followed: Iterable[str]) -> str | None:
    """The paper's first author (as the paper spells it) who is followed, if any."""
    keys = [_author_key(name) for name in followed if name.strip()]
    for author in paper.authors:
        surname, initial = _author_key(author)
        for f_surname, f_initial in keys:
            if surname == f_surname and (not initial or not f_initial or initial == f_initial):
                return author
    return None


def _in_category(category: str, wanted: str) -> bool:
    category, wanted = category.casefold(), wanted.casefold().removesuffix(".*")
    return category == wanted or category.startswith(wanted + ".")


def matching_category(paper: Paper, wanted: Iterable[str]) -> str | None:
    wanted = list(wanted)
    return next((c for c in paper.categories if any(_in_category(c, w) for w in wanted)), None)


def _seed_similarities(
    seed: str, index: CorpusIndex, seed_papers: Sequence[Paper]
) -> dict[int, float]:
    """Paper position → similarity 0..1 to the seed (in today's index or passed in as text).

    Cosine of tf-idf vectors, scaled so SEED_FULL_COSINE (about what two papers on the same
    problem share) counts as fully similar.
    """
    seed_doc = index.find(seed)
    if seed_doc is not None:
        counts: Counter[str] = index.term_counts[seed_doc]
    else:
        wanted = normalise_identifier(seed)
        paper = next(
            (p for p in seed_papers if wanted in {normalise_identifier(i) for i in _ids(p)}),
            None,
        )
        if paper is None:
            return {}
        counts = Counter(stems(paper.title) * 2 + stems(paper.abstract))
    scaled = np.clip(cosines(index, vector_of(index, counts)) / SEED_FULL_COSINE, 0.0, 1.0)
    similar = {int(doc): float(scaled[doc]) for doc in np.flatnonzero(scaled > 0)}
    if seed_doc is not None:
        similar[seed_doc] = 1.0
    return similar


def _ids(paper: Paper) -> tuple[str, ...]:
    return tuple(i for i in (paper.arxiv_id, paper.doi) if i)


def _seed_matches(
    profile: Profile, index: CorpusIndex, seed_papers: Sequence[Paper]
) -> tuple[dict[int, tuple[float, str]], dict[int, float]]:
    """(paper → (similarity, seed) for its most similar positive seed, paper → the highest
    similarity to a negative seed); seeds below SEED_MIN_SIMILARITY do not count."""
    best: dict[int, tuple[float, str]] = {}
    against: dict[int, float] = {}
    for seed in profile.seeds:
        negative = is_negative(seed)
        identifier = seed[1:] if negative else seed
        for doc, similarity in _seed_similarities(identifier, index, seed_papers).items():
            if similarity < SEED_MIN_SIMILARITY or (not negative and doc == index.find(seed)):
                continue
            if negative:
                against[doc] = max(against.get(doc, 0.0), similarity)
            elif similarity > best.get(doc, (0.0, ""))[0]:
                best[doc] = (similarity, seed)
    return best, against


def explain_exclusions(profile: Profile, index: CorpusIndex) -> dict[int, str]:
    """Paper id → why the profile's exclusions drop it; for debug output and tests."""
    topics = _topic_matches(profile, index)
    return {
        index.papers[doc].id: reason for doc, reason in _exclusions(profile, index, topics).items()
    }


def _exclusions(
    profile: Profile, index: CorpusIndex, topics: dict[int, list[tuple[float, str]]]
) -> dict[int, str]:
    """Paper position → reason, for papers mainly about an excluded topic or category."""
    dropped: dict[int, str] = {}
    if profile.exclude_categories:
        for doc, paper in enumerate(index.papers):
            if paper.categories and all(
                any(_in_category(c, x) for x in profile.exclude_categories)
                for c in paper.categories
            ):
                dropped[doc] = f"all categories excluded: {', '.join(paper.categories)}"
    for text in profile.exclude:
        if not text.strip():
            continue
        for doc, match in score_query(analyse_query(text, index), index).items():
            if doc in dropped:
                continue
            best_topic = topics[doc][0][0] if doc in topics else 0.0
            if match.title_coverage >= EXCLUDE_TITLE_COVERAGE:
                dropped[doc] = f"title is about excluded '{text}'"
            elif match.relevance > best_topic + EXCLUDE_MARGIN:
                dropped[doc] = (
                    f"mainly about excluded '{text}' ({match.relevance:.2f} vs {best_topic:.2f})"
                )
    return dropped


def _first_pass(
    index: CorpusIndex, topics: dict[int, list[tuple[float, str]]], dropped: dict[int, str]
) -> np.ndarray:
    first_pass = np.zeros(index.size)
    for doc, matched in topics.items():
        if doc not in dropped:
            first_pass[doc] = combine([m[0] for m in matched], _shares(len(matched)))
    return first_pass


def match_profile(
    profile: Profile, index: CorpusIndex, seed_papers: Sequence[Paper] = ()
) -> dict[int, PaperMatch]:
    """Paper position → match for every paper with some ground to be shown and not excluded.

    Topic relevance is scaled by nearness to the profile's centre (see :mod:`.vectors`); a
    paper without a topic word but very near the centre may enter on that ground alone.
    """
    topics = _topic_matches(profile, index)
    seeds, against = _seed_matches(profile, index, seed_papers)
    dropped = _exclusions(profile, index, topics)
    first_pass = _first_pass(index, topics, dropped)
    learnt = nearness(index, first_pass)
    near = np.ones(index.size) if learnt is None else learnt
    near_min = NEAR_MIN if learnt is not None else math.inf
    result: dict[int, PaperMatch] = {}
    for doc, paper in enumerate(index.papers):
        if doc in dropped:
            continue
        matched = topics.get(doc, [])
        relevance = first_pass[doc] * (1.0 - CONTEXT_WEIGHT + CONTEXT_WEIGHT * near[doc])
        reasons: list[str] = []
        named = [text for score, text in matched if score >= NAMED_TOPIC_MIN][:3]
        if named:
            reasons.append("matched: " + ", ".join(named))
        if near[doc] >= near_min:
            relevance = combine([relevance, NEAR_SHARE * near[doc] ** 2], [1.0, 1.0])
            if not named:
                reasons.append("close to today's best matches for your topics")
        extras = _extras(profile, paper, seeds.get(doc), reasons)
        if not reasons and not matched:
            continue
        relevance = combine([relevance, *extras], [1.0] * (1 + len(extras)))
        relevance *= 1.0 - NEGATIVE_SEED_SHARE * against.get(doc, 0.0)
        if relevance > 0:
            topic = matched[0][1] if matched else None
            result[doc] = PaperMatch(float(relevance), topic, tuple(reasons))
    return result


def _extras(
    profile: Profile, paper: Paper, seed: tuple[float, str] | None, reasons: list[str]
) -> list[float]:
    """Boosts from followed authors, categories and seeds; appends their reasons."""
    extras: list[float] = []
    author = followed_author(paper, profile.authors) if profile.authors else None
    if author is not None:
        extras.append(AUTHOR_BOOST)
        reasons.append(f"by an author you follow: {author}")
    category = matching_category(paper, profile.categories) if profile.categories else None
    if category is not None:
        extras.append(CATEGORY_BOOST)
        reasons.append(f"in {category}")
    if seed is not None:
        extras.append(SEED_SHARE * seed[0])
        reasons.append(f"like your seed {seed[1]}")
    return extras
