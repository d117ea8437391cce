"""A hand-judged self-check: real papers from the fixtures, profiles whose best paper is obvious."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from digest.models import Paper, Profile, Topic
from digest.rank import CorpusIndex, build_index, rank

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = dt.datetime(2026, 8, 6, tzinfo=dt.UTC)


def _papers() -> list[Paper]:
    hf = json.loads(
        (FIXTURES / "hf-daily-papers/api-daily_papers-2026-06-13_sotawhat.json").read_text()
    )
    papers = [
        Paper(
            id=i,
            key=item["paper"]["id"],
            title=item["paper"]["title"],
            abstract=item["paper"]["summary"],
            authors=tuple(a["name"] for a in item["paper"]["authors"]),
            arxiv_id=item["paper"]["id"],
        )
        for i, item in enumerate(hf, start=1)
    ]
    biorxiv = json.loads(
        (FIXTURES / "biorxiv-medrxiv/biorxiv-api-details-2026-08-01_2026-08-05.json").read_text()
    )
    for i, item in enumerate(biorxiv["collection"][:10], start=len(papers) + 1):
        papers.append(
            Paper(
                id=i,
                key=item["doi"],
                title=item["title"],
                abstract=item["abstract"],
                doi=item["doi"],
            )
        )
    return papers


@pytest.fixture(scope="module")
def index() -> CorpusIndex:
    return build_index(_papers())


@pytest.mark.parametrize(
    ("topic", "exclude", "best_key"),
    [
        ("speculative decoding", (), "2606.12243"),
        ("memory for LLM agents", (), "2606.13681"),
        ("on-policy distillation", ("reinforcement learning",), "2606.09304"),
        ("sparse attention for long context", (), "2606.13392"),
        ("neuron credit assignment in songbirds", (), "10.64898/2026.07.31.740148"),
    ],
)
def test_obvious_paper_ranks_first(
    index: CorpusIndex, topic: str, exclude: tuple[str, ...], best_key: str
) -> None:
    picks = rank(Profile(topics=(Topic(topic),), exclude=exclude), index, {}, now=NOW)
    assert picks and picks[0].paper.key == best_key


def test_corpus_teaches_acronyms(index: CorpusIndex) -> None:
    assert index.acronyms["sd"] == ("specul", "decod")
    assert index.acronyms["opd"] == ("polici", "distil")
