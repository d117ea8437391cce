"""Sentence embeddings for the ranking: papers are embedded once, right after ingest.

The model is DIGEST_EMBEDDING_MODEL (see :mod:`digest.rank.embeddings`). A digest whose
candidates lack a vector under the current model (papers stored before, or a new model) embeds
them there, once; everything else reads the stored vectors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from digest.models import Paper
from digest.rank.arrays import Embeddings
from digest.rank.embeddings import Embedder, load_embedder
from digest.service import Service
from digest.store import embeddings, papers

EMBED_PER_RUN = 20_000  # a bound on one run's work; the rest follow in the next run


def embedder_of(service: Service) -> Embedder | None:
    return load_embedder(service.settings.embedding_model)


def embed_new_papers(service: Service, *, now: dt.datetime) -> int:
    """Embed stored papers that have no vector under the current model; how many."""
    embedder = embedder_of(service)
    if embedder is None:
        return 0
    with service.db.session() as session:
        ids = embeddings.unembedded_paper_ids(session, embedder.name, EMBED_PER_RUN)
        found = papers.papers_by_ids(session, ids)
        chosen = [found[i] for i in ids if i in found]
        return embeddings.store_vectors(session, chosen, embedder, now=now)


def candidate_vectors(
    session: Session, candidates: Sequence[Paper], embedder: Embedder | None, now: dt.datetime
) -> Embeddings | None:
    """The candidates' vectors in order (embedding any missing), or None without a model."""
    if embedder is None:
        return None
    return embeddings.vectors_for(session, candidates, embedder, now=now)
