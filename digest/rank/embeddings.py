"""Sentence embeddings of papers and topics: one small interface, several backends.

The default, ``wordllama``, is a static embedding model (MIT licence) whose weights and
tokenizer ship inside the pip package, so ranking by meaning works offline with the default
install. A deployment may name a bigger model in DIGEST_EMBEDDING_MODEL:
``sentence-transformers:all-MiniLM-L6-v2`` or ``fastembed:BAAI/bge-small-en-v1.5`` (those
libraries are imported only then, and download their weights there). ``none`` turns the
semantic part of the ranking off. Every backend returns unit-length float32 rows, so a dot
product is a cosine.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from digest.errors import ConfigError
from digest.rank.arrays import Embeddings
from digest.rank.blas_threads import single_blas_thread

DEFAULT_MODEL = "wordllama"
NO_MODEL = "none"
BATCH = 256


class Embedder(Protocol):
    """Turns texts into unit-length float32 rows; ``name`` is stored beside each vector."""

    name: str

    def embed(self, texts: Sequence[str]) -> Embeddings: ...


def paper_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from (the same text for every backend)."""
    return f"{title.strip()}. {abstract.strip()}".strip()


def unit_rows(matrix: Any) -> Embeddings:
    """Rows scaled to unit length (zero rows stay zero), as a float32 array."""
    rows = np.asarray(matrix, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class WordLlamaEmbedder:
    """WordLlama's bundled 256-dimensional model, loaded from the package directory only."""

    def __init__(self) -> None:
        import wordllama

        package = pathlib.Path(wordllama.__file__).parent
        # The package's own files, never a download (its default lookup misses the tokenizer).
        self._model = wordllama.WordLlama.load(cache_dir=package, disable_download=True)
        self.name = "wordllama:l2_supercat_256"

    def embed(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, 256), dtype=np.float32)
        return unit_rows(self._model.embed(list(texts), norm=True, batch_size=BATCH))


class SentenceTransformersEmbedder:
    """Any sentence-transformers model by name (downloaded by that library on first use)."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model)
        self.name = f"sentence-transformers:{model}"

    def embed(self, texts: Sequence[str]) -> Embeddings:
        return unit_rows(self._model.encode(list(texts), batch_size=64))


class FastEmbedEmbedder:
    """Any fastembed model by name (ONNX; downloaded by fastembed on first use)."""

    def __init__(self, model: str) -> None:
        from fastembed import TextEmbedding

        self._model = TextEmbedding(model)
        self.name = f"fastembed:{model}"

    def embed(self, texts: Sequence[str]) -> Embeddings:
        return unit_rows(list(self._model.embed(list(texts))))


@functools.cache
def load_embedder(setting: str = DEFAULT_MODEL) -> Embedder | None:
    """The backend DIGEST_EMBEDDING_MODEL names, loaded once per process; None for ``none``."""
    backend, _, model = setting.strip().partition(":")
    backend = backend.lower()
    single_blas_thread()
    try:
        if backend == NO_MODEL:
            return None
        if backend == "wordllama":
            return WordLlamaEmbedder()
        if backend == "sentence-transformers" and model:
            return SentenceTransformersEmbedder(model)
        if backend == "fastembed" and model:
            return FastEmbedEmbedder(model)
    except ImportError as error:
        raise ConfigError(
            f"DIGEST_EMBEDDING_MODEL={setting!r} needs a library that is not installed: "
            f"{error.name}; pip install it or use {DEFAULT_MODEL!r}"
        ) from error
    raise ConfigError(
        f"DIGEST_EMBEDDING_MODEL={setting!r} is not a model: use {DEFAULT_MODEL!r}, "
        "'sentence-transformers:NAME', 'fastembed:NAME' or 'none'"
    )
