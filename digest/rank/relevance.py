"""How well one piece of subscriber text (a topic, an exclusion, a seed) matches each paper.

BM25F over title and abstract, per *concept* rather than per word: a concept is one topic word
with its alternatives (an acronym the corpus taught us, a joined hyphenated form). On top of
the word scores come ordered-pair (phrase) and windowed-pair (proximity) scores in the manner
of the sequential dependence model, then a coverage factor so that a multi-word topic needs
most of its informative words. Scores are normalised against the score of an "ideal" paper
for the same text, which makes topics of different length and rarity comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from digest.rank.arrays import Floats, Positions
from digest.rank.index import ABSTRACT, FIELDS, TITLE, CorpusIndex
from digest.rank.text import find_acronyms, tokenize

FIELD_WEIGHTS = (2.5, 1.0)  # title, abstract
FIELD_B = (0.3, 0.75)  # length normalisation per field
K1 = 1.2
ORDERED_WEIGHT = 1.0  # topic words adjacent and in order (phrase)
WINDOW_WEIGHT = 0.3  # topic words near each other, any order
WINDOW = 8
COVERAGE_POWER = 1.0
HALF_SATURATION = 0.5  # normalised relevance is x / (x + this), x = score / ideal score

Span = tuple[int, int]
Occurrences = dict[int, tuple[tuple[Span, ...], tuple[Span, ...]]]  # doc → (title, abstract)


@dataclass(frozen=True)
class Concept:
    label: str
    alternatives: tuple[tuple[str, ...], ...]  # stem sequences any of which is this concept


@dataclass(frozen=True)
class Query:
    text: str
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class Scores:
    """One query against every paper, as arrays over paper positions (0 where it shares no
    concept with the paper)."""

    strength: Floats  # score / ideal score: about 1 for a paper squarely on the query
    relevance: Floats  # 0..1, comparable across queries: strength / (strength + HALF_SAT.)
    coverage: Floats  # share of the query's idf mass present anywhere
    title_coverage: Floats  # share present in the title


def analyse_query(text: str, index: CorpusIndex) -> Query:
    """Turn subscriber text into concepts, expanding acronyms both ways."""
    tokens = tokenize(text)
    acronyms = dict(index.acronyms)
    acronyms.update(find_acronyms(text))
    long_forms = {long: short for short, long in sorted(acronyms.items()) if len(long) > 1}
    words = [token.stem for token in tokens]
    extra: list[set[tuple[str, ...]]] = [set() for _ in tokens]
    spelled_out: set[str] = set()
    for long_form, short in long_forms.items():
        n = len(long_form)
        for start in range(len(words) - n + 1):
            if tuple(words[start : start + n]) == long_form:
                spelled_out.add(short)
                for i in range(start, start + n):
                    extra[i].add((short,))
    concepts: list[Concept] = []
    for i, token in enumerate(tokens):
        if token.stem in spelled_out:
            continue
        alternatives = {(token.stem,)} | extra[i]
        if token.stem in acronyms and token.stem not in acronyms[token.stem]:
            alternatives.add(acronyms[token.stem])
        if token.aliases and i and concepts and concepts[-1].label == tokens[i - 1].surface:
            previous = concepts.pop()
            joined = tuple(p + (token.stem,) for p in previous.alternatives if len(p) == 1)
            alternatives = set(joined) | {(alias,) for alias in token.aliases} | extra[i]
            label = f"{previous.label}-{token.surface}"
        elif token.aliases:  # "in-context": also match the joined spelling "incontext"
            alternatives |= {(alias,) for alias in token.aliases}
            label = token.surface
        else:
            label = token.surface
        concept = Concept(label, tuple(sorted(alternatives)))
        if all(c.alternatives != concept.alternatives for c in concepts):
            concepts.append(concept)
    return Query(text, tuple(concepts))


def _phrase_positions(index: CorpusIndex, phrase: tuple[str, ...]) -> Occurrences:
    postings = [index.postings.get(term, {}) for term in phrase]
    docs = set(postings[0]).intersection(*postings[1:])
    found: Occurrences = {}
    for doc in docs:
        per_field: list[tuple[Span, ...]] = []
        for f in FIELDS:
            later = [set(p[doc][f]) for p in postings[1:]]
            starts = [
                s
                for s in postings[0][doc][f]
                if all(s + k + 1 in pos for k, pos in enumerate(later))
            ]
            per_field.append(tuple((s, s + len(phrase) - 1) for s in starts))
        if per_field[TITLE] or per_field[ABSTRACT]:
            found[doc] = (per_field[TITLE], per_field[ABSTRACT])
    return found


def occurrences(index: CorpusIndex, concept: Concept) -> Occurrences:
    """Where the concept occurs, per paper and field, as (start, end) spans; cached per run."""
    key = ("occurrences", concept.alternatives)
    cached = index.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    merged: dict[int, tuple[set[Span], set[Span]]] = {}
    for alternative in concept.alternatives:
        if len(alternative) == 1:
            found: Occurrences = {
                doc: (tuple((p, p) for p in t), tuple((p, p) for p in a))
                for doc, (t, a) in index.postings.get(alternative[0], {}).items()
            }
        else:
            found = _phrase_positions(index, alternative)
        for doc, (title, abstract) in found.items():
            slot = merged.setdefault(doc, (set(), set()))
            slot[TITLE].update(title)
            slot[ABSTRACT].update(abstract)
    result: Occurrences = {
        doc: (tuple(sorted(t)), tuple(sorted(a))) for doc, (t, a) in merged.items()
    }
    index.cache[key] = result
    return result


def saturate_strength(strength: float) -> float:
    return strength / (strength + HALF_SATURATION)


def _saturate(pseudo_tf: Floats) -> Floats:
    return pseudo_tf * (K1 + 1.0) / (K1 + pseudo_tf)


def _norms(index: CorpusIndex) -> tuple[Floats, Floats]:
    """Per field, each paper's BM25 length normalisation; cached per index."""
    cached = index.cache.get("field_norms")
    if cached is None:
        cached = index.cache["field_norms"] = tuple(
            1.0
            - FIELD_B[f]
            + FIELD_B[f]
            * np.asarray(index.field_lengths[f], dtype=np.float64)
            / index.average_lengths[f]
            for f in FIELDS
        )
    return cached  # type: ignore[return-value]


def _pseudo_tf(counts: Sequence[Floats], norms: Sequence[Floats]) -> Floats:
    return FIELD_WEIGHTS[TITLE] * counts[TITLE] / norms[TITLE] + (
        FIELD_WEIGHTS[ABSTRACT] * counts[ABSTRACT] / norms[ABSTRACT]
    )


def _counts(index: CorpusIndex, concept: Concept) -> tuple[Floats, Floats]:
    """Per field, how often the concept occurs in each paper; cached per run."""
    key = ("counts", concept.alternatives)
    cached = index.cache.get(key)
    if cached is None:
        title, abstract = np.zeros(index.size), np.zeros(index.size)
        for doc, (t, a) in occurrences(index, concept).items():
            title[doc], abstract[doc] = len(t), len(a)
        cached = index.cache[key] = (title, abstract)
    return cached  # type: ignore[return-value]


def _pair_counts(first: Sequence[Span], second: Sequence[Span]) -> tuple[int, int]:
    """(ordered-adjacent count, within-window count) for two concepts in one field."""
    ordered = window = 0
    for a in first:
        for b in second:
            if a == b or 1 <= b[0] - a[1] <= 2:
                ordered += 1
            if a == b or abs(b[0] - a[1]) <= WINDOW or abs(a[0] - b[1]) <= WINDOW:
                window += 1
    return ordered, window


def _pairs(
    index: CorpusIndex, first: Concept, second: Concept
) -> tuple[Positions, Floats, Floats, Floats, Floats]:
    """(papers holding both, ordered counts per field, window counts per field); cached."""
    key = ("pairs", first.alternatives, second.alternatives)
    cached = index.cache.get(key)
    if cached is None:
        a, b = occurrences(index, first), occurrences(index, second)
        docs = sorted(set(a) & set(b))
        counts = np.zeros((4, len(docs)))
        for k, doc in enumerate(docs):
            for f in FIELDS:
                if a[doc][f] and b[doc][f]:
                    counts[f, k], counts[2 + f, k] = _pair_counts(a[doc][f], b[doc][f])
        cached = index.cache[key] = (np.asarray(docs, dtype=np.intp), *counts)
    return cached  # type: ignore[return-value]


def _ideal_score(idfs: Sequence[float], phrases: bool) -> float:
    """The score of an average-length paper naming each concept in its title and twice below."""

    def saturate(pseudo_tf: float) -> float:
        return pseudo_tf * (K1 + 1.0) / (K1 + pseudo_tf)

    score = sum(idf * saturate(FIELD_WEIGHTS[0] + 2 * FIELD_WEIGHTS[1]) for idf in idfs)
    if phrases:
        pair = saturate(FIELD_WEIGHTS[0] + FIELD_WEIGHTS[1])
        for i, j in combinations(range(len(idfs)), 2):
            weight = (idfs[i] + idfs[j]) / 2 * pair
            score += WINDOW_WEIGHT * weight + (ORDERED_WEIGHT * weight if j == i + 1 else 0.0)
    return score


def score_query(
    query: Query,
    index: CorpusIndex,
    *,
    phrases: bool = True,
    coverage_power: float | None = None,
) -> Scores:
    """The query against every paper: BM25F per concept, proximity, coverage, normalised."""
    zeros = np.zeros(index.size)
    if not query.concepts:
        return Scores(zeros, zeros, zeros, zeros)
    norms = _norms(index)
    idfs = [index.idf(len(occurrences(index, concept))) for concept in query.concepts]
    total_idf = sum(idfs)
    ideal = _ideal_score(idfs, phrases and len(idfs) > 1)
    score, covered, in_title = zeros.copy(), zeros.copy(), zeros.copy()
    for idf, concept in zip(idfs, query.concepts, strict=True):
        title, abstract = _counts(index, concept)
        score += idf * _saturate(_pseudo_tf((title, abstract), norms))
        covered += np.where((title > 0) | (abstract > 0), idf, 0.0)
        in_title += np.where(title > 0, idf, 0.0)
    if phrases:
        score += _proximity_score(index, query.concepts, idfs, norms)
    coverage = covered / total_idf
    power = COVERAGE_POWER if coverage_power is None else coverage_power
    strength = np.where(covered > 0, score * coverage**power / ideal, 0.0)
    return Scores(strength, strength / (strength + HALF_SATURATION), coverage, in_title / total_idf)


def _proximity_score(
    index: CorpusIndex,
    concepts: Sequence[Concept],
    idfs: Sequence[float],
    norms: tuple[Floats, Floats],
) -> Floats:
    score = np.zeros(index.size)
    for i, j in combinations(range(len(concepts)), 2):
        docs, ordered_t, ordered_a, window_t, window_a = _pairs(index, concepts[i], concepts[j])
        if not docs.size:
            continue
        doc_norms = (norms[TITLE][docs], norms[ABSTRACT][docs])
        weight = (idfs[i] + idfs[j]) / 2
        pair = np.zeros(docs.size)
        if j == i + 1:
            ordered = (
                ORDERED_WEIGHT * weight * _saturate(_pseudo_tf((ordered_t, ordered_a), doc_norms))
            )
            pair += ordered
        pair += WINDOW_WEIGHT * weight * _saturate(_pseudo_tf((window_t, window_a), doc_norms))
        score[docs] += pair
    return score
