"""Papers are embedded once at ingest and stored per model; a digest ranks by meaning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from sqlalchemy import func, select

from digest import pipeline
from digest.models import Topic
from digest.pipeline.embed_job import embed_new_papers
from digest.pipeline.ingest_run import run_ingest
from digest.rank.arrays import Embeddings
from digest.rank.embeddings import Embedder, load_embedder
from digest.service import Service
from digest.store import embeddings, papers, subscribers
from digest.store.schema import PaperEmbedding
from tests.conftest import FIXTURES

NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
FEEDS = sorted((FIXTURES / "arxiv-rss").iterdir())


def embedded_count(service: Service, model: str) -> int:
    with service.db.session() as session:
        query = (
            select(func.count()).select_from(PaperEmbedding).where(PaperEmbedding.model == model)
        )
        return int(session.scalar(query) or 0)


def test_ingest_stores_one_unit_vector_per_paper_from_real_feeds(service: Service) -> None:
    run_ingest(service, now=NOW, files=FEEDS, fetch_sources=False)
    embedder = load_embedder("wordllama")
    assert embedder is not None
    with service.db.session() as session:
        stored = papers.list_papers(session)
        vectors = embeddings.stored_vectors(session, [p.id for p in stored], embedder.name)
    assert stored and set(vectors) == {p.id for p in stored}
    matrix = np.vstack([np.frombuffer(v, dtype="<f4") for v in vectors.values()])
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)


def test_a_second_ingest_embeds_nothing_again(service: Service) -> None:
    run_ingest(service, now=NOW, files=FEEDS, fetch_sources=False)
    assert embed_new_papers(service, now=NOW) == 0


def test_another_model_name_embeds_the_papers_again_beside_the_old(service: Service) -> None:
    run_ingest(service, now=NOW, files=FEEDS, fetch_sources=False)
    embedder = load_embedder("wordllama")
    assert embedder is not None
    with service.db.session() as session:
        stored = papers.list_papers(session)
    renamed = RenamedEmbedder(embedder.name + "-copy", embedder)
    with service.db.session() as session:
        vectors = embeddings.vectors_for(session, stored, renamed, now=NOW)
    assert vectors.shape == (len(stored), 256)
    assert embedded_count(service, renamed.name) == embedded_count(service, embedder.name)


class RenamedEmbedder:
    """The bundled model under another name: what a changed DIGEST_EMBEDDING_MODEL looks like."""

    def __init__(self, name: str, inner: Embedder) -> None:
        self.name, self._inner = name, inner

    def embed(self, texts: Sequence[str]) -> Embeddings:
        return self._inner.embed(texts)


def test_preview_ranks_by_the_stored_embeddings(service: Service) -> None:
    """A reader's words that the best paper does not use: words alone put it third (below a
    paper on lexical tasks and one on cow urine); with the vectors stored at ingest, first."""
    run_ingest(service, now=NOW, files=FEEDS, fetch_sources=False)
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session,
            "reader@example.org",
            now=NOW,
            state="confirmed",
            profile_changes={"topics": (Topic("making large models cheaper and faster to run"),)},
        )
    best = "Focus Session: Hardware and Software Techniques for Accelerating"
    digest, _ = pipeline.preview(service, "reader@example.org", NOW.date(), now=NOW, limit=10)
    assert digest.picks[0].paper.title.startswith(best)
    service.settings.embedding_model = "none"
    digest, _ = pipeline.preview(service, "reader@example.org", NOW.date(), now=NOW, limit=10)
    assert [p.paper.title.startswith(best) for p in digest.picks].index(True) == 2
