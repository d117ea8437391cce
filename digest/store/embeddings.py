"""Stored sentence embeddings of papers, one row per (paper, embedding model).

Vectors are written once (at ingest, or the first time a digest needs a paper the current model
has not embedded yet) and read back as a float32 matrix in the order the ranker wants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digest.models import Paper
from digest.rank.arrays import Embeddings
from digest.rank.embeddings import Embedder, paper_text
from digest.store.schema import PaperEmbedding, PaperRow

BATCH = 512


def stored_vectors(session: Session, paper_ids: Sequence[int], model: str) -> dict[int, bytes]:
    """paper id → its stored vector bytes under ``model`` (papers without one are absent)."""
    found: dict[int, bytes] = {}
    ids = list(dict.fromkeys(paper_ids))
    for start in range(0, len(ids), BATCH):
        query = select(PaperEmbedding.paper_id, PaperEmbedding.vector).where(
            PaperEmbedding.model == model,
            PaperEmbedding.paper_id.in_(ids[start : start + BATCH]),
        )
        found.update({paper_id: vector for paper_id, vector in session.execute(query)})
    return found


def store_vectors(
    session: Session, papers: Sequence[Paper], embedder: Embedder, *, now: dt.datetime
) -> int:
    """Embed ``papers`` with ``embedder`` and store the vectors; how many were embedded. Two
    runs may embed the same paper at once (replicas, a run beside the web): the first row
    stays, the other is skipped."""
    for start in range(0, len(papers), BATCH):
        chunk = papers[start : start + BATCH]
        vectors = embedder.embed([paper_text(p.title, p.abstract) for p in chunk])
        rows = [
            {
                "paper_id": paper.id,
                "model": embedder.name,
                "dimensions": int(vector.shape[0]),
                "vector": np.asarray(vector, dtype="<f4").tobytes(),
                "created_at": now,
            }
            for paper, vector in zip(chunk, vectors, strict=True)
        ]
        session.execute(_insert_once(session), rows)
        session.flush()
    return len(papers)


def _insert_once(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    keys = ["paper_id", "model"]
    if dialect == "postgresql":
        return postgresql_insert(PaperEmbedding).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite_insert(PaperEmbedding).on_conflict_do_nothing(index_elements=keys)
    return insert(PaperEmbedding)


def vectors_for(
    session: Session, papers: Sequence[Paper], embedder: Embedder, *, now: dt.datetime
) -> Embeddings:
    """One unit row per paper, in order: stored ones read, missing ones embedded and stored."""
    stored = stored_vectors(session, [p.id for p in papers], embedder.name)
    missing = [p for p in dict((p.id, p) for p in papers).values() if p.id not in stored]
    if missing:
        store_vectors(session, missing, embedder, now=now)
        stored.update(stored_vectors(session, [p.id for p in missing], embedder.name))
    rows = [np.frombuffer(stored[p.id], dtype="<f4") for p in papers]
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(rows).astype(np.float32)


def unembedded_paper_ids(session: Session, model: str, limit: int) -> list[int]:
    """Ids of papers without a vector under ``model``, newest first, at most ``limit``."""
    embedded = select(PaperEmbedding.paper_id).where(PaperEmbedding.model == model)
    query = (
        select(PaperRow.id)
        .where(PaperRow.id.not_in(embedded))
        .order_by(PaperRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
