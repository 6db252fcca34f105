"""Text embeddings, and near-duplicate groups by cosine similarity.

Two backends behind one protocol:

- `TfidfEmbedder` (the default): scikit-learn TF-IDF over word unigrams and bigrams, fitted on
  the texts being compared. Local, deterministic, no download; it sees shared wording, not
  shared meaning, which is what merging near-duplicate ideas of one batch needs.
- `TfidfIndex`: the same TF-IDF fitted once on a fixed set of texts, then queried (the flaw
  library's retrieval).
- `EndpointEmbedder`: a provider's OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM,
  Ollama, a llama.cpp server), for meaning rather than wording.

    groups = near_duplicates(["Penalise repeats", "Penalise repeated reward", "Add noise"])
    # [[0, 1], [2]] at the default threshold
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import ConfigError, ModelError

DEFAULT_THRESHOLD = 0.6
"""Cosine similarity at or above which two texts count as near-duplicates (TF-IDF scale)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors; rows are L2-normalised, so a dot product is a cosine."""

    name: str
    """Recorded with what the embedding decided (`tfidf`, `openai:text-embedding-3-small`)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (a row of zeros for a text with no content)."""
        ...


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: np.ndarray = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return result


def warm_tfidf() -> None:
    """Import scikit-learn's TF-IDF now: about a second the first time, which every run needs
    (critic #2 merges its candidate flaws with it). Blocking: call it in a worker thread ahead of
    need, so the import does not land on a run's critical path."""
    import sklearn.feature_extraction.text  # type: ignore[import-untyped]  # noqa: F401


class TfidfEmbedder:
    """TF-IDF vectors (word 1- and 2-grams, sublinear term frequency) fitted on the texts."""

    name = "tfidf"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0))
        from sklearn.feature_extraction.text import (
            TfidfVectorizer,  # imported on first use
        )

        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
        try:
            matrix = vectorizer.fit_transform(list(texts)).toarray()
        except ValueError:  # every text empty or only stop words: nothing to compare
            return np.zeros((len(texts), 1))
        return _normalised(np.asarray(matrix, dtype=float))


class TfidfIndex:
    """TF-IDF vectors of a fixed set of texts (the settings of `TfidfEmbedder`, sparse), and the
    cosine similarity of a query to each: the vocabulary and inverse document frequencies are the
    texts' own, so a query's scores depend on the texts and the query alone. Fitted once, then
    each query costs a transform and a sparse product (the flaw library's retrieval)."""

    name = "tfidf"

    def __init__(self, texts: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import (
            TfidfVectorizer,  # imported on first use
        )

        self._n = len(texts)
        self._vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                           stop_words="english")
        try:
            self._matrix = self._vectorizer.fit_transform(list(texts)) if texts else None
        except ValueError:  # every text empty or only stop words: nothing to compare
            self._matrix = None

    def similarities(self, query: str) -> np.ndarray:
        """One cosine similarity per text (rows and query are L2-normalised by the vectorizer);
        zeros when the texts have no terms, or the query none of theirs."""
        if self._matrix is None:
            return np.zeros(self._n)
        vector = self._vectorizer.transform([query])
        return np.asarray((self._matrix @ vector.T).toarray(), dtype=float).ravel()


class EndpointEmbedder:
    """A provider's OpenAI-compatible embeddings endpoint.

    Args:
        model: the embedding model's name at the provider.
        base_url: the API root (e.g. `http://localhost:8000/v1`); None for OpenAI's.
        api_key_env: the environment variable holding the key (not needed with `base_url`).
        timeout_s: per request.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
    ) -> None:
        key = os.environ.get(api_key_env)
        if key is None and base_url is None:
            raise ConfigError(
                f"the embedding model {model!r} needs ${api_key_env}, or a base_url of an "
                "OpenAI-compatible server"
            )
        self.name = f"openai:{model}"
        self._model = model
        self._base_url = base_url
        self._key = key or "not-needed"
        self._timeout_s = timeout_s

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0))
        import openai  # imported on first use

        client = openai.OpenAI(
            api_key=self._key, base_url=self._base_url, timeout=self._timeout_s, max_retries=2
        )
        try:
            response = client.embeddings.create(model=self._model, input=list(texts))
        except openai.OpenAIError as exc:
            raise ModelError(
                f"{self.name}: the embeddings request failed: {exc}", provider="openai",
                model=self.name,
            ) from exc
        finally:
            client.close()
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise ModelError(
                f"{self.name}: asked for {len(texts)} embeddings, got {len(rows)}",
                provider="openai", model=self.name,
            )
        return _normalised(np.asarray([r.embedding for r in rows], dtype=float))


def near_duplicates(
    texts: Sequence[str],
    embedder: Embedder | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[list[int]]:
    """Groups of indices whose texts are near-duplicates, each group in index order, groups in
    order of their first member. Similarity is transitive here: a ~ b and b ~ c put a, b and c
    in one group (single linkage)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    n = len(texts)
    if n == 0:
        return []
    vectors = (embedder or TfidfEmbedder()).embed(texts)
    similarity = vectors @ vectors.T
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if similarity[i, j] >= threshold - 1e-12:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


__all__ = [
    "DEFAULT_THRESHOLD",
    "Embedder",
    "EndpointEmbedder",
    "TfidfEmbedder",
    "TfidfIndex",
    "near_duplicates",
]
