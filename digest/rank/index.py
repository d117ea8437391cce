"""The per-run analysis of candidate papers: positional postings, field lengths, acronyms.

Built once per run by :func:`build_index` and shared by every subscriber's ranking. Postings map
a stem to the papers holding it and its positions per field, which is all BM25F, phrase and
proximity scoring need. ``cache`` holds what ranking derives from it once per run and shares
across subscribers (per-concept counts, the text tables of :mod:`.tables`, the tf-idf matrix).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from digest.models import Paper
from digest.rank.arrays import Embeddings
from digest.rank.blas_threads import single_blas_thread
from digest.rank.embeddings import Embedder
from digest.rank.text import Token, find_acronyms, fold, tokenize

TITLE, ABSTRACT = 0, 1
FIELDS = (TITLE, ABSTRACT)

# Well-known abbreviations used when no candidate paper spells them out; the corpus overrides.
COMMON_ACRONYMS: dict[str, str] = {
    "llm": "large language model",
    "vlm": "vision language model",
    "mllm": "multimodal large language model",
    "rlhf": "reinforcement learning from human feedback",
    "rag": "retrieval augmented generation",
    "dpo": "direct preference optimization",
    "ppo": "proximal policy optimization",
    "grpo": "group relative policy optimization",
    "sft": "supervised fine tuning",
    "peft": "parameter efficient fine tuning",
    "moe": "mixture of experts",
    "gnn": "graph neural network",
    "cnn": "convolutional neural network",
    "rnn": "recurrent neural network",
    "gan": "generative adversarial network",
    "vae": "variational autoencoder",
    "vit": "vision transformer",
    "nlp": "natural language processing",
    "asr": "automatic speech recognition",
    "tts": "text to speech",
    "nerf": "neural radiance field",
    "cot": "chain of thought",
    "icl": "in context learning",
    "kd": "knowledge distillation",
    "marl": "multi agent reinforcement learning",
}

Positions = tuple[tuple[int, ...], tuple[int, ...]]  # (title positions, abstract positions)


@dataclass
class CorpusIndex:
    """Everything the ranker needs to know about today's candidates, computed once."""

    papers: tuple[Paper, ...]
    postings: dict[str, dict[int, Positions]]
    field_lengths: tuple[tuple[int, ...], tuple[int, ...]]
    average_lengths: tuple[float, float]
    acronyms: dict[str, tuple[str, ...]]  # acronym stem → long-form stems
    long_forms: dict[tuple[str, ...], str]  # long-form stems → acronym stem
    term_counts: tuple[Counter[str], ...]  # per paper, title counted twice (for seeds)
    by_identifier: dict[str, int]  # arXiv id or DOI → paper position
    vectors: Embeddings | None = (
        None  # (papers, dim) unit sentence embeddings, when ranking by meaning
    )
    embedder: Embedder | None = None  # what made ``vectors``; embeds the topics the same way
    cache: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.papers)

    def idf(self, document_frequency: int) -> float:
        """BM25's idf, always positive so a term in every paper still counts a little."""
        n = len(self.papers)
        return math.log(1.0 + (n - document_frequency + 0.5) / (document_frequency + 0.5))

    def find(self, identifier: str) -> int | None:
        return self.by_identifier.get(normalise_identifier(identifier))


def normalise_identifier(identifier: str) -> str:
    """ "arXiv:2401.01234v2" → "2401.01234"; "https://doi.org/10.1/X" → "10.1/x"."""
    text = fold(identifier.strip())
    text = re.sub(r"^(https?://)?(dx\.)?doi\.org/|^doi:\s*", "", text)
    text = re.sub(r"^(https?://)?arxiv\.org/(abs|pdf)/|^arxiv:\s*", "", text)
    return re.sub(r"v\d+$", "", text) if re.match(r"^\d{4}\.\d{4,5}v\d+$", text) else text


def _positions(tokens: Sequence[Token]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = defaultdict(list)
    for i, token in enumerate(tokens):
        positions[token.stem].append(i)
        for alias in token.aliases:
            positions[alias].append(i)
    return positions


def learn_acronyms(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Acronym → its most frequent spelled-out form in ``texts``, over a built-in fallback."""
    seen: dict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
    for text in texts:
        for short, long_form in find_acronyms(text):
            if short not in long_form:
                seen[short][long_form] += 1
    learnt = {short: tuple(tokenize_words(long)) for short, long in COMMON_ACRONYMS.items()}
    for short, forms in seen.items():
        learnt[short] = min(forms.items(), key=lambda item: (-item[1], item[0]))[0]
    return learnt


def tokenize_words(text: str) -> list[str]:
    return [token.stem for token in tokenize(text)]


def build_index(
    papers: Sequence[Paper], vectors: Embeddings | None = None, embedder: Embedder | None = None
) -> CorpusIndex:
    """Analyse the candidate papers once: tokens, stems, postings, lengths and acronyms.

    ``vectors`` (one unit row per paper, made by ``embedder``) turn on relevance by meaning
    (:mod:`.semantic`); without them ranking is lexical only.
    """
    if vectors is not None and (embedder is None or len(vectors) != len(papers)):
        raise ValueError("paper vectors need their embedder and one row per paper")
    single_blas_thread()
    postings: dict[str, dict[int, list[list[int]]]] = defaultdict(dict)
    lengths: list[list[int]] = [[], []]
    term_counts: list[Counter[str]] = []
    by_identifier: dict[str, int] = {}
    for doc, paper in enumerate(papers):
        fields = (tokenize(paper.title), tokenize(paper.abstract))
        counts: Counter[str] = Counter()
        for field_no, tokens in enumerate(fields):
            lengths[field_no].append(len(tokens))
            for term, where in _positions(tokens).items():
                slot = postings[term].setdefault(doc, [[], []])
                slot[field_no] = where
                counts[term] += len(where) * (2 if field_no == TITLE else 1)
        term_counts.append(counts)
        for identifier in (paper.arxiv_id, paper.doi):
            if identifier:
                by_identifier.setdefault(normalise_identifier(identifier), doc)
    acronyms = learn_acronyms(f"{paper.title}. {paper.abstract}" for paper in papers)
    long_forms: dict[tuple[str, ...], str] = {}
    for short, long_form in sorted(acronyms.items()):
        long_forms.setdefault(long_form, short)
    n = max(len(papers), 1)
    return CorpusIndex(
        papers=tuple(papers),
        postings={
            term: {doc: (tuple(p[0]), tuple(p[1])) for doc, p in docs.items()}
            for term, docs in postings.items()
        },
        field_lengths=(tuple(lengths[0]), tuple(lengths[1])),
        average_lengths=(max(sum(lengths[0]) / n, 1.0), max(sum(lengths[1]) / n, 1.0)),
        acronyms=acronyms,
        long_forms=long_forms,
        term_counts=tuple(term_counts),
        by_identifier=by_identifier,
        vectors=None if vectors is None else np.asarray(vectors, dtype=np.float32),
        embedder=embedder if vectors is not None else None,
    )
