"""Embeddings: near-duplicate groups with the local TF-IDF backend and a provider endpoint."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from autoalign.embeddings import EndpointEmbedder, TfidfEmbedder, TfidfIndex, near_duplicates
from autoalign.errors import ConfigError, ModelError

IDEAS = [
    "Penalise repeated reward from the same source to cut reward hacking",
    "Probe activations for deceptive intent under distribution shift",
    "Penalise repeated reward from one source to cut reward hacking in the gridworld",
    "Add noise to the reward model and measure hacking",
]


def test_tfidf_groups_reworded_ideas_and_keeps_distinct_ones_apart() -> None:
    assert near_duplicates(IDEAS) == [[0, 2], [1], [3]]
    assert near_duplicates(IDEAS, threshold=1.0) == [[0], [1], [2], [3]]


def test_tfidf_rows_are_unit_length_and_empty_texts_are_zero() -> None:
    vectors = TfidfEmbedder().embed([*IDEAS, ""])
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[:-1], 1.0) and norms[-1] == 0.0
    assert near_duplicates(["", ""]) == [[0], [1]]  # no content, no similarity
    assert near_duplicates([]) == []


def test_a_tfidf_index_scores_a_query_against_its_own_texts() -> None:
    # the flaw library (issue 14, part LB)
    index = TfidfIndex(IDEAS)
    scores = index.similarities(IDEAS[1])
    assert scores.shape == (4,) and scores[1] == pytest.approx(1.0)
    assert int(np.argmax(index.similarities("repeated reward penalty"))) in (0, 2)
    assert not index.similarities("completely unrelated words").any()
    assert list(TfidfIndex(["", "the"]).similarities("the")) == [0.0, 0.0]
    assert TfidfIndex([]).similarities("x").shape == (0,)


def _texts(seed: int) -> list[str]:
    """Texts that exercise the tokenizer: stop words, case, punctuation, digits, one-letter
    words, accents, repeated words and pairs, empty and stop-word-only texts."""
    rng = random.Random(seed)
    words = ["Reward", "reward", "hacking", "the", "a", "of", "probe", "PROBE's", "seeds", "42",
             "x", "naïve", "café", "over-claiming", "it's", "and", "baseline", "arm,",
             "control.", "noise;", "(variance)", "effect_size", "ünïcode", "über", "is", "were"]
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 25))) for _ in range(30)]
    return [*texts, "", "the of and is", "reward reward reward hacking", texts[0]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_tfidf_equals_scikit_learns(seed: int) -> None:
    """Same tokens, stop words, inverse document frequencies and norm as scikit-learn's
    `TfidfVectorizer` at the settings the docstring names (the columns are in the same, sorted,
    order)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

    texts = _texts(seed)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    expected = vectorizer.fit_transform(texts)
    assert np.allclose(TfidfEmbedder().embed(texts), expected.toarray(), rtol=0, atol=1e-12)
    index = TfidfIndex(texts)
    for query in [*texts[:5], "reward hacking probe", "nothing here at all", ""]:
        wanted = (expected @ vectorizer.transform([query]).T).toarray().ravel()
        assert np.allclose(index.similarities(query), wanted, rtol=0, atol=1e-12)


def test_the_stop_words_are_scikit_learns_without_importing_it() -> None:
    """The list is read from scikit-learn's module file; neither scikit-learn nor scipy is
    imported by embedding, indexing or querying (importing them takes most of a second)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from autoalign.embeddings import _stop_words

    assert _stop_words() == ENGLISH_STOP_WORDS
    code = (
        "import sys\n"
        "from autoalign.embeddings import TfidfEmbedder, TfidfIndex, near_duplicates\n"
        "assert near_duplicates(['reward hacking probe', 'the reward hacking probe']) == [[0, 1]]\n"
        "TfidfIndex(['reward hacking']).similarities('hacking')\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_a_bad_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        near_duplicates(IDEAS, threshold=0.0)


class _Embeddings(BaseHTTPRequestHandler):
    """`/v1/embeddings` answering each text with a vector of its word set's hash buckets."""

    drop: bool = False

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        texts = body["input"]
        data = []
        for i, text in enumerate(texts[: len(texts) - 1] if self.drop else texts):
            vector = [0.0] * 8
            for word in text.lower().split():
                vector[sum(map(ord, word)) % 8] += 1.0
            data.append({"object": "embedding", "index": i, "embedding": vector})
        payload = json.dumps({
            "object": "list", "data": data, "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Embeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        _Embeddings.drop = False


def test_a_provider_endpoint_embeds_and_groups(endpoint: str) -> None:
    embedder = EndpointEmbedder("stub-embed", base_url=endpoint)
    assert embedder.name == "openai:stub-embed"
    vectors = embedder.embed(["same words here", "here same words", "other"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert near_duplicates(["same words here", "here same words", "x"], embedder) == [[0, 1], [2]]


def test_an_endpoint_that_answers_short_is_an_error(endpoint: str) -> None:
    _Embeddings.drop = True
    with pytest.raises(ModelError, match="asked for 2 embeddings, got 1"):
        EndpointEmbedder("stub-embed", base_url=endpoint).embed(["a", "b"])


def test_an_endpoint_without_key_or_server_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_KEY"):
        EndpointEmbedder("m", api_key_env="NO_SUCH_KEY")
