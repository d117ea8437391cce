"""Shared by the render and compose tests: real papers from a fixture, a digest of ten of them
with topics, overflow and themes, and its links."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from digest.models import Digest, Links, Paper, Pick, Profile, Subscriber, Topic

FIXTURE = (
    Path(__file__).parents[1] / "fixtures/hf-daily-papers/api-daily_papers-2026-06-13_sotawhat.json"
)
TOPICS = ("reward models", "LLM evaluation", "agents")
DAY = dt.date(2026, 11, 24)


def load_papers() -> list[Paper]:
    entries = json.loads(FIXTURE.read_text("utf-8"))
    papers = []
    for number, entry in enumerate(entries, start=1):
        raw = entry["paper"]
        papers.append(
            Paper(
                id=number,
                key=f"arxiv:{raw['id']}",
                title=raw["title"],
                abstract=raw["summary"],
                authors=tuple(a["name"] for a in raw["authors"]),
                categories=("cs.CL", "cs.LG"),
                url=f"https://arxiv.org/abs/{raw['id']}",
                pdf_url=f"https://arxiv.org/pdf/{raw['id']}",
                code_url=f"https://github.com/example/{raw['id']}" if number % 3 == 0 else None,
                arxiv_id=raw["id"],
            )
        )
    return papers


PAPERS = load_papers()


def make_digest(papers: list[Paper] | None = None) -> Digest:
    papers = PAPERS[:10] if papers is None else papers
    topics = ["agents", "reward models", "agents", "LLM evaluation", "reward models"]
    picks = tuple(
        Pick(
            paper=paper,
            score=1.0 - i / 20,
            relevance=0.6,
            trending=0.2,
            topic=topics[i % len(topics)] if i < 9 else None,
            reasons=(f"matches “{topics[i % len(topics)]}”", f"{i + 2} sources"),
        )
        for i, paper in enumerate(papers)
    )
    subscriber = Subscriber(
        id=7,
        email="ada@example.org",
        state="confirmed",
        profile=Profile(topics=tuple(Topic(t) for t in TOPICS), exclude=("crypto",)),
    )
    return Digest(
        subscriber=subscriber,
        date=DAY,
        picks=picks,
        overflow=(("agents", 4), ("robotics", 2)),
        themes=("agents", "reward models", "LLM evaluation", "DPO"),
    )


def make_links(digest: Digest) -> Links:
    return Links(
        manage="https://digest.example/manage/tok",
        unsubscribe="https://digest.example/unsubscribe/tok",
        unsubscribe_mailto="mailto:unsubscribe+tok@digest.example",
        archive="https://digest.example/archive/2026-11-24",
        feedback={
            p.paper.id: (
                f"https://digest.example/more/{p.paper.id}",
                f"https://digest.example/less/{p.paper.id}",
            )
            for p in digest.picks
        },
    )
