"""Relevance by meaning: the bundled embedding model lets a topic find papers in other words."""

from __future__ import annotations

import datetime as dt

import numpy as np

from digest.models import Paper, Profile, Topic
from digest.rank import CorpusIndex, build_index, rank
from digest.rank.embeddings import load_embedder, paper_text
from digest.rank.semantic import normalised_rows

NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
PAPERS = [
    Paper(
        1,
        "a",
        "Auditing hiring classifiers for disparate impact on women and minorities",
        "We measure how often a resume screening model rejects candidates from protected "
        "groups and propose a reweighting that equalises selection rates.",
    ),
    Paper(
        2,
        "b",
        "Sparse attention kernels for long-context inference",
        "A GPU kernel that skips blocks of the attention matrix and speeds up decoding.",
    ),
    Paper(
        3,
        "c",
        "Protein structure prediction with diffusion",
        "A generative model of backbone coordinates trained on the protein data bank.",
    ),
    Paper(
        4,
        "d",
        "Graph neural networks for traffic forecasting",
        "Message passing over road sensors predicts congestion an hour ahead.",
    ),
]


def index_with_vectors() -> CorpusIndex:
    embedder = load_embedder("wordllama")
    assert embedder is not None
    vectors = embedder.embed([paper_text(p.title, p.abstract) for p in PAPERS])
    return build_index(PAPERS, vectors, embedder)


def test_a_paper_sharing_no_topic_word_ranks_first_by_meaning() -> None:
    profile = Profile(topics=(Topic("fairness and bias"),), trending=0.0)
    lexical = rank(profile, build_index(PAPERS), {}, now=NOW)
    assert all(p.paper.id != 1 for p in lexical)  # no topic word occurs in paper 1
    picks = rank(profile, index_with_vectors(), {}, now=NOW)
    assert picks[0].paper.id == 1
    assert picks[0].topic == "fairness and bias"
    assert picks[0].reasons == ("close in meaning to your topic fairness and bias",)


def test_an_exclusion_still_drops_a_paper_close_in_meaning() -> None:
    profile = Profile(topics=(Topic("fairness and bias"),), exclude=("resume screening",))
    picks = rank(profile, index_with_vectors(), {}, now=NOW)
    assert all(p.paper.id != 1 for p in picks)


def test_rows_are_min_max_scaled_each_on_its_own() -> None:
    rows = normalised_rows(np.array([[0.2, 0.4, 0.3], [5.0, 5.0, 5.0]]))
    assert np.allclose(rows, [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]])


def test_a_topic_no_paper_is_about_gets_nothing_by_meaning() -> None:
    """The day's nearest paper to any text is 1.0 once scaled; the raw cosine floor keeps a
    made-up word or an off-field topic from filling a digest."""
    for text in ("zzqxnotaword", "football transfer news"):
        picks = rank(
            Profile(topics=(Topic(text),), trending=0.0), index_with_vectors(), {}, now=NOW
        )
        assert picks == [], text
