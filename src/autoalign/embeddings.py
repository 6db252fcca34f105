"""Text embeddings, and near-duplicate groups by cosine similarity.

Two backends behind one protocol:

- `TfidfEmbedder` (the default): TF-IDF over word unigrams and bigrams, fitted on the texts
  being compared. Local, deterministic, no download; it sees shared wording, not shared
  meaning, which is what merging near-duplicate ideas of one batch needs.
- `TfidfIndex`: the same TF-IDF fitted once on a fixed set of texts, then queried (the flaw
  library's retrieval).
- `EndpointEmbedder`: a provider's OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM,
  Ollama, a llama.cpp server), for meaning rather than wording.

The two TF-IDF backends compute what scikit-learn's `TfidfVectorizer(ngram_range=(1, 2),
sublinear_tf=True, stop_words="english")` computes (its tokens, stop words, smoothed inverse
document frequencies and L2 norm; a test pins the two equal), on Python dictionaries and numpy:
the batches are a few dozen texts, and importing scikit-learn's text module, which imports scipy
and pandas, held the interpreter lock for 0.4 s (2.4 s on a slower machine) of every run
(docs/scaling.md).

    groups = near_duplicates(["Penalise repeats", "Penalise repeated reward", "Add noise"])
    # [[0, 1], [2]] at the default threshold
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path
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


_TOKEN = re.compile(r"(?u)\b\w\w+\b")
"""A token: two or more word characters (scikit-learn's default token pattern)."""


@functools.cache
def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop-word list. Read from the one module that holds it, loaded on
    its own: importing it the usual way imports the package's text module, and with it scipy
    and pandas. Where that file is not found (another layout of the package), the public name."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "feature_extraction" / "_stop_words.py"
        module_spec = importlib.util.spec_from_file_location("_sklearn_stop_words", path)
        if path.is_file() and module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            words = getattr(module, "ENGLISH_STOP_WORDS", None)
            if isinstance(words, frozenset):
                return words
    from sklearn.feature_extraction.text import (  # type: ignore[import-untyped]
        ENGLISH_STOP_WORDS,
    )

    return frozenset(ENGLISH_STOP_WORDS)


def _term_counts(text: str) -> Counter[str]:
    """How often each word and each pair of adjacent words occurs in `text`: lower-cased
    tokens, stop words dropped before the pairs are formed."""
    stop = _stop_words()
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return Counter(chain(words, map(" ".join, pairwise(words))))


def _weighted(tf: Sequence[int], idf: np.ndarray) -> np.ndarray:
    """Terms' weights before the norm: sublinear term frequency (1 + ln tf) times idf."""
    weights: np.ndarray = (1.0 + np.log(np.asarray(tf, dtype=float))) * idf
    return weights


@dataclass(frozen=True)
class _Fitted:
    """TF-IDF fitted on texts: the vocabulary, each term's smoothed inverse document frequency
    ln((1 + n) / (1 + df)) + 1, and one entry per (text, term) it holds with the term's weight
    in the text's unit-length vector (sublinear term frequency, 1 + ln tf)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    texts: np.ndarray
    terms: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Fitted:
        vocabulary: dict[str, int] = {}
        terms: list[int] = []
        tf: list[int] = []
        sizes: list[int] = []
        for text in texts:
            count = _term_counts(text)
            sizes.append(len(count))
            for term, n in count.items():
                terms.append(vocabulary.setdefault(term, len(vocabulary)))
                tf.append(n)
        term_ids = np.asarray(terms, dtype=np.intp)
        df = np.bincount(term_ids, minlength=len(vocabulary))
        idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
        text_ids = np.repeat(np.arange(len(texts)), sizes)
        weights = _weighted(tf, idf[term_ids])
        norms = np.sqrt(np.bincount(text_ids, weights=weights * weights, minlength=len(texts)))
        return cls(vocabulary, idf, text_ids, term_ids, weights / norms[text_ids])

    def query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary's terms in `text` and their weights in its unit-length vector (the
        text's other terms count for nothing); empty arrays when it has none of them."""
        count = _term_counts(text)
        known = [(self.vocabulary[t], n) for t, n in count.items() if t in self.vocabulary]
        terms = np.asarray([t for t, _ in known], dtype=np.intp)
        weights = _weighted([n for _, n in known], self.idf[terms])
        norm = float(np.sqrt(weights @ weights))
        return terms, (weights / norm if norm else weights)


class TfidfEmbedder:
    """TF-IDF vectors (word 1- and 2-grams, sublinear term frequency) fitted on the texts."""

    name = "tfidf"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0))
        fitted = _Fitted.of(texts)
        if not fitted.vocabulary:  # every text empty or only stop words: nothing to compare
            return np.zeros((len(texts), 1))
        column = np.empty(len(fitted.vocabulary), dtype=np.intp)  # terms in sorted order
        column[[fitted.vocabulary[t] for t in sorted(fitted.vocabulary)]] = np.arange(len(column))
        matrix = np.zeros((len(texts), len(column)))
        matrix[fitted.texts, column[fitted.terms]] = fitted.weights
        return matrix


class TfidfIndex:
    """TF-IDF vectors of a fixed set of texts (the settings of `TfidfEmbedder`), and the cosine
    similarity of a query to each: the vocabulary and inverse document frequencies are the
    texts' own, so a query's scores depend on the texts and the query alone. Fitted once into
    an inverted index (each term's texts and weights); a query costs its own terms' postings
    (the flaw library's retrieval)."""

    name = "tfidf"

    def __init__(self, texts: Sequence[str]) -> None:
        self._n = len(texts)
        self._fitted = fitted = _Fitted.of(texts)
        order = np.argsort(fitted.terms, kind="stable")
        self._rows = fitted.texts[order]
        self._weights = fitted.weights[order]
        self._starts = np.concatenate(
            ([0], np.cumsum(np.bincount(fitted.terms, minlength=len(fitted.vocabulary))))
        )

    def similarities(self, query: str) -> np.ndarray:
        """One cosine similarity per text; zeros when the texts have no terms, or the query
        none of theirs."""
        scores = np.zeros(self._n)
        terms, weights = self._fitted.query(query)
        for term, weight in zip(terms.tolist(), weights.tolist(), strict=True):
            start, end = self._starts[term], self._starts[term + 1]
            scores[self._rows[start:end]] += weight * self._weights[start:end]
        return scores


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
