"""The real OpenAI and Anthropic model classes, against an in-memory HTTP transport (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel, Field
from pydantic_ai.models import override_allow_model_requests

from autoalign.errors import ModelError
from autoalign.models import (
    Budget,
    ModelClient,
    ModelsConfig,
    Price,
    ProviderConfig,
    SamplingConfig,
)
from autoalign.models.anthropic import AnthropicModels
from autoalign.models.openai import OpenAIModels
from autoalign.store import Store

from .stub_openai import completion


class Finding(BaseModel):
    claim: str = Field(max_length=80)
    supported: bool


class FakeServer:
    """An httpx2 MockTransport handler that plays canned (status, JSON) replies and logs requests.

    A reply that is an exception is raised instead, as a broken connection would be.
    """

    def __init__(self, *replies: tuple[int, dict[str, Any]] | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        status, body = reply
        return httpx2.Response(status, json=body)

    def body(self, index: int = -1) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.requests[index].content)
        return parsed


OK = completion('{"claim": "probes find the feature", "supported": true}')


@pytest.fixture(autouse=True)
def _allow_requests() -> Iterator[None]:
    with override_allow_model_requests(True):
        yield


def self_hosted(store: Store, run_id: int, **openai: Any) -> ModelClient:
    config = ModelsConfig(
        default="openai:llama3",
        providers={"openai": ProviderConfig(base_url="http://gpu-box.test:8000/v1", **openai)},
        max_retries=2,
        backoff_base_s=0.001,
        backoff_max_s=0.002,
    )
    return ModelClient(config=config, ledger=store, run_id=run_id, seed=7)


async def test_openai_compatible_server_round_trip(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeServer((200, OK))
    monkeypatch.setattr(OpenAIModels, "transport", httpx2.MockTransport(server))
    client = self_hosted(store, run_id)
    reply = await client.ask(
        "critic",
        Finding,
        instructions="Check the claim.",
        prompt="<paper>...</paper>",
        sampling=SamplingConfig(temperature=0.2, max_tokens=64, top_p=0.9),
    )
    await client.aclose()

    assert reply.ok and reply.output == Finding(claim="probes find the feature", supported=True)
    assert (reply.input_tokens, reply.output_tokens) == (12, 7)
    assert reply.cost_usd is None  # a self-hosted server has no known price
    [request] = server.requests
    assert str(request.url) == "http://gpu-box.test:8000/v1/chat/completions"
    body = server.body()
    assert body["model"] == "llama3"
    assert body["messages"] == [
        {"role": "system", "content": "Check the claim."},
        {"role": "user", "content": "<paper>...</paper>"},
    ]
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.2, 0.9, 7)
    assert body["max_completion_tokens"] == 64
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema"
    assert schema["properties"]["claim"]["maxLength"] == 80
    [row] = store.calls(run_id=run_id)
    assert (row.model, row.input_tokens, row.output_tokens, row.cost_usd) == (
        "openai:llama3",
        12,
        7,
        None,
    )


async def test_configured_price_gives_a_cost(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OpenAIModels, "transport", httpx2.MockTransport(FakeServer((200, OK))))
    price = Price(input_per_mtok=1.0, output_per_mtok=2.0)
    client = self_hosted(store, run_id, prices={"llama3": price})
    reply = await client.ask("critic", Finding, instructions="i", prompt="p")
    assert reply.cost_usd == pytest.approx((12 * 1.0 + 7 * 2.0) / 1e6)


async def test_sdk_does_not_retry_on_its_own(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate_limited = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
    server = FakeServer((429, rate_limited), (200, OK))
    monkeypatch.setattr(OpenAIModels, "transport", httpx2.MockTransport(server))
    reply = await self_hosted(store, run_id).ask("critic", Finding, instructions="i", prompt="p")
    assert reply.ok
    assert len(server.requests) == 2  # one 429, our one retry; none from the SDK
    assert reply.attempts == 2


async def test_unauthorized_is_a_model_error_with_the_provider_message(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-...abc",
            "type": "invalid_request_error",
        }
    }
    server = FakeServer((401, body))
    monkeypatch.setattr(OpenAIModels, "transport", httpx2.MockTransport(server))
    monkeypatch.setenv("LAB_KEY", "sk-abc")
    with pytest.raises(ModelError) as err:
        await self_hosted(store, run_id, api_key_env="LAB_KEY").ask(
            "critic", Finding, instructions="i", prompt="p"
        )
    assert len(server.requests) == 1
    assert server.requests[0].headers["authorization"] == "Bearer sk-abc"
    exc = err.value
    assert (exc.provider, exc.model, exc.status, exc.retryable) == (
        "openai",
        "openai:llama3",
        401,
        False,
    )
    assert "Incorrect API key provided" in str(exc) and "$LAB_KEY" in str(exc)
    assert "Traceback" not in str(exc)


async def test_lost_connection_is_retried_then_reported(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeServer(httpx2.ConnectError("connection refused"))
    monkeypatch.setattr(OpenAIModels, "transport", httpx2.MockTransport(server))
    with pytest.raises(ModelError) as err:
        await self_hosted(store, run_id).ask("critic", Finding, instructions="i", prompt="p")
    assert len(server.requests) == 3  # max_retries=2
    assert err.value.retryable and err.value.status is None


async def test_openai_price_table_and_dollar_budget(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = completion(
        OK["choices"][0]["message"]["content"], prompt_tokens=1000, completion_tokens=100
    )
    monkeypatch.setattr(OpenAIModels, "transport", httpx2.MockTransport(FakeServer((200, usage))))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = ModelsConfig(default="openai:gpt-4o-mini")
    client = ModelClient(config=config, ledger=store, run_id=run_id, budget=Budget(max_usd=1.0))
    reply = await client.ask("critic", Finding, instructions="i", prompt="p")
    # the built-in table: gpt-4o-mini at $0.15 / $0.60 per million tokens
    assert reply.cost_usd == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)


async def test_anthropic_uses_tool_output(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "final_result",
                "input": {"claim": "probes find the feature", "supported": False},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 10},
    }
    server = FakeServer((200, message))
    monkeypatch.setattr(AnthropicModels, "transport", httpx2.MockTransport(server))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    config = ModelsConfig(default="anthropic:claude-haiku-4-5")
    client = ModelClient(config=config, ledger=store, run_id=run_id)
    reply = await client.ask("critic", Finding, instructions="Check.", prompt="p")
    await client.aclose()
    assert reply.output == Finding(claim="probes find the feature", supported=False)
    assert (reply.input_tokens, reply.output_tokens) == (30, 10)
    assert reply.cost_usd == pytest.approx((30 * 1.0 + 10 * 5.0) / 1e6)  # $1 / $5 per Mtok
    body = server.body()
    assert body["tools"][0]["name"] == "final_result"
    assert json.loads(reply.raw) == {"claim": "probes find the feature", "supported": False}


def test_the_openai_clients_of_a_process_share_one_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each model gets its own SDK client and connection pool, but not its own TLS context
    (certificates parsed anew, about 20 ms of its first ask): one per process, as the SDK's
    default client would build it."""
    provider = OpenAIModels()
    monkeypatch.setattr(OpenAIModels, "transport", None)
    config = ProviderConfig(base_url="http://127.0.0.1:9/v1", timeout_s=7.0)
    first, second = (provider.build("m", config, seed=0) for _ in range(2))
    pools = []
    for built in (first, second):
        assert built.direct is not None
        sdk = built.direct._client
        assert sdk.timeout == 7.0 and sdk.max_retries == 0
        pools.append(sdk._client._transport._pool)
    assert pools[0] is not pools[1]
    assert pools[0]._ssl_context is pools[1]._ssl_context
