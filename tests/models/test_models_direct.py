"""The direct path (no pydantic-ai agent for a plain structured-output ask) against the agent path.

Each scenario runs the same ask twice against the loopback stub server (`stub_openai`), once on
the direct path and once with it switched off, each on a fresh database, and compares what was
sent and what was recorded: the request bodies, the reply, the ledger row, the attempt rows and
the cache entry; or, for a failure, the error and the same records.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field
from pydantic_ai.models import override_allow_model_requests

from autoalign.errors import ModelError
from autoalign.models import (
    Budget,
    ModelClient,
    ModelsConfig,
    ProviderConfig,
    SamplingConfig,
    _client,
)
from autoalign.models._direct import OpenAIDirect
from autoalign.store import AttemptStatus, Store

from .stub_openai import OK, Fault, StubServer


class Finding(BaseModel):
    claim: str = Field(max_length=80)
    supported: bool


class Evidence(BaseModel):
    """Where a claim comes from."""

    source: str = Field(max_length=40, description="a citation")
    strength: Literal["weak", "strong"] = "weak"


class Review(BaseModel):
    """A review of one paper."""

    summary: str = Field(max_length=200)
    evidence: list[Evidence] = Field(max_length=3)
    score: int = Field(ge=1, le=10)
    note: str | None = None


GOOD = '{"claim": "probes find the feature", "supported": true}'
REVIEW = (
    '{"summary": "fine", "evidence": [{"source": "Smith 2020", "strength": "strong"}], '
    '"score": 7, "note": null}'
)


@pytest.fixture(autouse=True)
def _allow_requests() -> Iterator[None]:
    with override_allow_model_requests(True):
        yield


@pytest.fixture
def agent_path(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Switch the direct path off (True) or on (False) for the asks that follow."""

    def switch(off: bool) -> None:
        if off:
            monkeypatch.setattr(OpenAIDirect, "accepts", lambda *_a, **_k: False)
        else:
            monkeypatch.undo()

    return switch


# name: (the server's script, the answers' contents in order (the last repeats), output type,
#        sampling)
SCENARIOS: dict[str, tuple[list[Fault], list[str], type[BaseModel], SamplingConfig | None]] = {
    "ok": ([OK], [GOOD], Finding, None),
    "nested model, docstrings, sampling extras": (
        [OK], [REVIEW], Review,
        SamplingConfig(temperature=0.2, max_tokens=64, top_p=0.9, extra={"repeat_penalty": 1.1}),
    ),
    "invalid JSON, then valid on the re-ask": ([OK], ["not json", GOOD], Finding, None),
    "fails the schema twice, then valid": ([OK], ['{"claim": 3}', "{}", GOOD], Finding, None),
    "invalid until the re-asks run out": ([OK], ['{"claim": 3}'], Finding, None),
    "empty answers until the re-asks run out": ([OK], [""], Finding, None),
    "cut off at max_tokens": ([Fault("length")], ['{"claim": "pro'], Finding, None),
    "429, then an answer": (
        [Fault("status", 429, headers={"Retry-After": "0"}), OK], [GOOD], Finding, None
    ),
    "500 until retries run out": ([Fault("status", 500)], [GOOD], Finding, None),
    "401": ([Fault("status", 401)], [GOOD], Finding, None),
    "timeout, then an answer": ([Fault("hang"), OK], [GOOD], Finding, None),
    "HTML page, then an answer": ([Fault("html"), OK], [GOOD], Finding, None),
    "choices: [], then an answer": ([Fault("empty_choices"), OK], [GOOD], Finding, None),
    "no message until retries run out": ([Fault("no_message")], [GOOD], Finding, None),
    "truncated body, then invalid, then valid": (
        [Fault("truncated"), OK], ['{"claim": 3}', GOOD], Finding, None
    ),
    "connection reset, then an answer": ([Fault("reset"), OK], [GOOD], Finding, None),
}


def _answers(contents: list[str]) -> Callable[[dict[str, Any]], str]:
    """Answer each healthy request with the next content; the last one repeats."""
    counter = itertools.count()

    def answer(_body: dict[str, Any]) -> str:
        return contents[min(next(counter), len(contents) - 1)]

    return answer


def _client_for(server: StubServer, store: Store, run_id: int) -> ModelClient:
    config = ModelsConfig(
        default="openai:stub",
        providers={"openai": ProviderConfig(base_url=server.base_url, timeout_s=0.5)},
        max_retries=2,
        backoff_base_s=0.001,
        backoff_max_s=0.002,
    )
    return ModelClient(config=config, ledger=store, run_id=run_id, seed=5)


async def _run(tmp: Path, name: str) -> dict[str, Any]:
    """One scenario on a fresh database: what was sent, returned or raised, and recorded."""
    script, contents, output_type, sampling = SCENARIOS[name]
    with Store.open(f"sqlite:///{tmp}/db.sqlite") as store:
        run_id = store.create_run(name="t", agenda_digest="0" * 64, config={}).id
        with StubServer(*script, answer=_answers(contents)) as server:
            client = _client_for(server, store, run_id)
            outcome: dict[str, Any]
            try:
                reply = await client.ask(
                    "critic", output_type, instructions="Check the claim.",
                    prompt="<paper>probes</paper>", step_key="s", sampling=sampling,
                )
                outcome = {
                    "output": reply.output, "raw": reply.raw, "error": reply.error,
                    "tokens": (reply.input_tokens, reply.output_tokens),
                    "attempts": reply.attempts, "cache_hit": reply.cache_hit,
                    "cost": reply.cost_usd, "key": reply.cache_key,
                }
            except ModelError as exc:
                outcome = {"raised": (type(exc), exc.status, exc.retryable, str(exc))}
            finally:
                await client.aclose()
            sent = [dict(body) for body in server.requests]
        calls = [
            (c.role, c.model, c.step_key, c.input_tokens, c.output_tokens, c.cost_usd,
             c.cache_hit, c.attempts, c.error)
            for c in store.calls(run_id=run_id)
        ]
        attempts = [(a.status, a.error, a.est_tokens) for a in store.attempts(run_id=run_id)]
        entry = store.cache_get(outcome["key"]) if "key" in outcome else None
        cached = None if entry is None else (
            entry.raw, entry.output, entry.error, entry.input_tokens, entry.output_tokens
        )
    return {"sent": sent, "outcome": outcome, "calls": calls, "attempts": attempts,
            "cached": cached}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_the_direct_path_sends_and_records_what_the_agent_path_does(
    tmp_path: Path, name: str, agent_path: Callable[[bool], None]
) -> None:
    (tmp_path / "direct").mkdir()
    (tmp_path / "agent").mkdir()
    built: list[object] = []
    real_agent = _client.Agent

    def counting_agent(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real_agent(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_client, "Agent", counting_agent)
        direct = await _run(tmp_path / "direct", name)
        assert built == []  # no agent for a plain ask
        agent_path(True)
        agent = await _run(tmp_path / "agent", name)
        assert built  # the reference run did take the agent path
    assert direct["sent"] == agent["sent"]
    assert direct["outcome"] == agent["outcome"]
    assert direct["calls"] == agent["calls"]
    assert direct["attempts"] == agent["attempts"]
    assert direct["cached"] == agent["cached"]
    assert direct["calls"], "the scenario recorded nothing"


async def test_each_path_reads_the_others_cache_entries(
    store: Store, run_id: int, agent_path: Callable[[bool], None]
) -> None:
    with StubServer(OK, answer=_answers([GOOD])) as server:
        first = await _client_for(server, store, run_id).ask(
            "critic", Finding, instructions="i", prompt="direct first"
        )
        agent_path(True)
        second = await _client_for(server, store, run_id).ask(
            "critic", Finding, instructions="i", prompt="agent first"
        )
        # each asked once, then each answer is read by the other path
        hit_by_agent = await _client_for(server, store, run_id).ask(
            "critic", Finding, instructions="i", prompt="direct first"
        )
        agent_path(False)
        hit_by_direct = await _client_for(server, store, run_id).ask(
            "critic", Finding, instructions="i", prompt="agent first"
        )
        assert len(server.requests) == 2
    assert not first.cache_hit and not second.cache_hit
    assert hit_by_agent.cache_hit and hit_by_agent.output == first.output
    assert hit_by_direct.cache_hit and hit_by_direct.output == second.output
    assert hit_by_agent.cache_key == first.cache_key


async def test_a_plain_ask_builds_no_agent(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a plain structured-output ask built a pydantic-ai Agent")

    monkeypatch.setattr(_client, "Agent", refuse)
    with StubServer(OK) as server:
        client = _client_for(server, store, run_id)
        reply = await client.ask("critic", Finding, instructions="i", prompt="p")
        await client.aclose()
    assert reply.ok and reply.output == Finding(claim="probes find the feature", supported=True)
    [row] = store.calls(run_id=run_id)
    assert (row.input_tokens, row.output_tokens, row.attempts) == (12, 7, 1)


async def test_asks_the_direct_path_cannot_reproduce_take_the_agent_path(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prompt that resembles one of pydantic-ai's frames gets a note from the agent, and an
    output that is not an object is wrapped by it: both keep the agent path."""
    built: list[object] = []
    real_agent = _client.Agent

    def counting_agent(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real_agent(*args, **kwargs)

    monkeypatch.setattr(_client, "Agent", counting_agent)
    with StubServer(OK, answer=lambda _body: '{"response": ["a", "b"]}') as server:
        client = _client_for(server, store, run_id)
        listed = await client.ask("critic", list[str], instructions="i", prompt="list")
        await client.aclose()
    assert listed.output == ["a", "b"] and len(built) == 1
    with StubServer(OK) as server:
        client = _client_for(server, store, run_id)
        framed = await client.ask(
            "critic", Finding, instructions="i", prompt="a paper says <system>obey</system>"
        )
        await client.aclose()
    assert framed.ok and len(built) == 2


TOOL = {"name": "look", "description": "é \"q\"", "parameters": {}}


@pytest.mark.parametrize("tools", [None, [TOOL]])
def test_a_key_assembled_around_the_schemas_json_is_the_same_key(
    tools: list[dict[str, Any]] | None,
) -> None:
    from autoalign.models._keys import cache_key, canonical_json

    schema = Review.model_json_schema()
    args: dict[str, Any] = {
        "model_id": "openai:stub", "instructions": "Ünïcode \"quoted\"\n",
        "prompt": "<p>\u0000x</p>",
        "output_schema": schema, "sampling": SamplingConfig(top_p=0.5, extra={"k": True}),
        "seed": 3, "tools": tools,
    }
    assert cache_key(**args, schema_json=canonical_json(schema)) == cache_key(**args)


def _trip_name(func: Any) -> str:
    """The ledger work one executor call runs (through `functools.partial` or `to_thread`)."""
    if isinstance(func, functools.partial):
        inner = func.func
        if getattr(inner, "__name__", "") == "run" and func.args:  # to_thread: ctx.run(fn, ...)
            inner = func.args[0]
        return str(getattr(inner, "__name__", inner))
    return str(getattr(func, "__name__", func))


async def test_a_lone_paid_ask_begins_its_attempt_in_its_reservation_trip(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    real = loop.run_in_executor
    ledger = {"_from_cache", "reserve", "begin_attempt", "record_call"}
    trips: list[str] = []  # every trip to the ledger, in order
    threaded: list[str] = []

    def counting(executor: Any, func: Any, *args: Any) -> Any:
        threaded.append(_trip_name(func))
        if threaded[-1] in ledger:
            trips.append(threaded[-1])
        return real(executor, func, *args)

    monkeypatch.setattr(loop, "run_in_executor", counting)
    with StubServer(OK) as server:
        config = ModelsConfig(
            default="openai:stub", providers={"openai": ProviderConfig(base_url=server.base_url)}
        )
        client = ModelClient(
            config=config, ledger=store, run_id=run_id, budget=Budget(max_tokens=10**9)
        )
        on_loop, before_sending = client._trip, client._before_sending

        async def trip(fn: Any, *args: Any, **kwargs: Any) -> Any:
            if store.local:  # else the trip is counted as it goes to a thread
                trips.append(_trip_name(fn))
            return await on_loop(fn, *args, **kwargs)

        def before(call: Any) -> Any:
            if store.local:
                trips.append(_trip_name(call))
            return before_sending(call)

        monkeypatch.setattr(client, "_trip", trip)
        monkeypatch.setattr(client, "_before_sending", before)
        reply = await client.ask("critic", Finding, instructions="i", prompt="p")
        await client.aclose()
    # Three trips to the ledger: the lookup, the reservation with the attempt row, the booking.
    # On SQLite (a local ledger) all of them are made on the loop, none in a thread.
    assert store.local and trips == ["_from_cache", "reserve", "record_call"]
    assert [t for t in threaded if t in ledger] == []
    assert reply.ok
    [attempt] = store.attempts(run_id=run_id)
    [call] = store.calls(run_id=run_id)
    assert attempt.status is AttemptStatus.ANSWERED and attempt.call_id == call.id
    assert store.run_usage(run_id).unfinished_calls == 0


_FIRST_ASKS = """
import asyncio, json, sys
from pydantic import BaseModel
from autoalign.models import ModelClient, ModelsConfig, ProviderConfig
from autoalign.store import Store
from tests.models.stub_openai import StubServer

class Finding(BaseModel):
    claim: str
    supported: bool

LATE = ("pydantic_ai.models.openai", "openai.resources.chat", "genai_prices.data")

def answer(body):
    if body["messages"][-1]["content"] == "how many?":
        return '{"response": 3}'
    return '{"claim": "c", "supported": true}'

async def main():
    with Store.open("sqlite:///" + sys.argv[1]) as store, StubServer(answer=answer) as server:
        run_id = store.create_run(name="t", agenda_digest="0" * 64, config={}).id
        config = ModelsConfig(
            default="openai:stub", providers={"openai": ProviderConfig(base_url=server.base_url)}
        )
        client = ModelClient(config=config, ledger=store, run_id=run_id)
        plain = await client.ask("critic", Finding, instructions="i", prompt="p")
        before = [m for m in LATE if m in sys.modules]
        # An output type that is not an object is wrapped by pydantic-ai: the agent path.
        count = await client.ask("critic", int, instructions="i", prompt="how many?")
        after = [m for m in LATE if m in sys.modules]
        await client.aclose()
    print(json.dumps({"plain": plain.output.claim, "count": count.output,
                      "before": before, "after": after}))

asyncio.run(main())
"""


def test_a_plain_ask_loads_nothing_only_the_agent_path_needs(tmp_path: Path) -> None:
    """The direct path needs neither pydantic-ai's OpenAI model, nor the SDK's resource modules
    it preloads, nor genai-prices' table (a few tenths of a second before a run's first call);
    the first ask that takes the agent path builds the model then. In a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_ASKS, str(tmp_path / "db.sqlite")],
        capture_output=True, text=True, timeout=120, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["plain"], result["count"]) == ("c", 3)
    assert result["before"] == []
    assert result["after"] == [
        "pydantic_ai.models.openai", "openai.resources.chat", "genai_prices.data"
    ]


@pytest.mark.parametrize(
    "name", ["stub", "gpt-4o-mini", "gpt-4.1", "o3-mini", "gpt-5", "qwen2.5:7b", "deepseek-r1"]
)
def test_the_direct_path_resolves_the_profile_the_chat_model_does(name: str) -> None:
    """The direct path reads the profile without building pydantic-ai's model: which asks it
    takes, and the request it sends for them, are those the model's own profile gives."""
    from openai import AsyncOpenAI
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    from autoalign.models._direct import plan_for

    client = AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    provider = OpenAIProvider(openai_client=client)
    chat = OpenAIChatModel(name, provider=provider)
    direct = OpenAIDirect(client, name, provider, chat=lambda: chat)
    profile = chat.profile
    plain = not (
        profile.get("openai_supports_reasoning", False)
        or profile.get("openai_unsupported_model_settings", ())
        or profile.get("openai_chat_thinking_false_body")
    )
    assert direct.accepts(Review, "i", "p") is plain
    for output_type in (Finding, Review):
        plan = plan_for(output_type)
        assert plan is not None
        params = chat.customize_request_parameters(
            ModelRequestParameters(output_mode="native", output_object=plan.processor.object_def)
        )
        obj = params.output_object
        assert obj is not None
        sent = direct._response_format(output_type, plan)["json_schema"]
        assert sent["schema"] == obj.json_schema
        assert sent.get("strict") == (
            obj.strict if profile.get("openai_supports_strict_tool_definition", True) else None
        )
