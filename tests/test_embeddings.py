"""Embeddings: near-duplicate groups with the local TF-IDF backend and a provider endpoint."""

from __future__ import annotations

import json
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
