"""The constants and per-paper tests of a profile: authors, categories, seed similarity.

How they combine over many subscribers at once lives in :mod:`digest.rank.batch`; ordering,
trending and the diversity step in :mod:`digest.rank.select`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from digest.models import Paper
from digest.rank.index import CorpusIndex, normalise_identifier
from digest.rank.text import fold, stems
from digest.rank.vectors import cosines, vector_of

OTHER_TOPIC_SHARE = 0.3  # a paper's second and further topics count this much
NAMED_TOPIC_MIN = 0.15  # a topic this relevant is named in the reasons
EXCLUDE_TITLE_COVERAGE = 0.75  # an exclusion whose informative words are this much in the title
EXCLUDE_MARGIN = 0.05  # an exclusion must beat the best topic by this to drop a paper
CATEGORY_BOOST = 0.1
AUTHOR_BOOST = 0.35
SEED_SHARE = 0.15  # times the reader's seed trust (.seed_trust); bench/relevance/feedback.py
SEED_FULL_COSINE = 0.3
SEED_MIN_SIMILARITY = 0.2
NEGATIVE_SEED_SHARE = 0.1  # a paper just like a "less like this" paper keeps 90%
CONTEXT_WEIGHT = 0.7  # share of topic relevance that depends on being near the profile centre
NEAR_MIN = 0.5  # a paper this near the centre may enter without a topic word
NEAR_SHARE = 0.3  # what nearness alone can earn


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


def seed_similarities(
    seed: str, index: CorpusIndex, seed_papers: Sequence[Paper]
) -> dict[int, float]:
    """Paper position → similarity 0..1 to the seed (in today's index or passed in as text).

    Cosine of tf-idf vectors, scaled so SEED_FULL_COSINE (about what two papers on the same
    problem share) counts as fully similar.
    """
    counts = seed_term_counts(seed, index, seed_papers)
    if counts is None:
        return {}
    scaled = np.clip(cosines(index, vector_of(index, counts)) / SEED_FULL_COSINE, 0.0, 1.0)
    similar = {int(doc): float(scaled[doc]) for doc in np.flatnonzero(scaled > 0)}
    seed_doc = index.find(seed)
    if seed_doc is not None:
        similar[seed_doc] = 1.0
    return similar


def seed_term_counts(
    seed: str, index: CorpusIndex, seed_papers: Sequence[Paper]
) -> Counter[str] | None:
    """A seed's term counts (title counted twice): from today's index, else from its paper's
    text in ``seed_papers``; None when neither knows it."""
    seed_doc = index.find(seed)
    if seed_doc is not None:
        return index.term_counts[seed_doc]
    wanted = normalise_identifier(seed)
    paper = next(
        (p for p in seed_papers if wanted in {normalise_identifier(i) for i in _ids(p)}), None
    )
    return None if paper is None else Counter(stems(paper.title) * 2 + stems(paper.abstract))


def _ids(paper: Paper) -> tuple[str, ...]:
    return tuple(i for i in (paper.arxiv_id, paper.doi) if i)
