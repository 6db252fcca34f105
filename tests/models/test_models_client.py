"""`ModelClient.ask`: cache, re-asks, retries, budget, concurrency, ledger. Scripted models only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionDef
from pydantic_ai.usage import RequestUsage

from autoalign.errors import BudgetExceededError, ModelError
from autoalign.models import (
    Budget,
    ModelClient,
    ModelsConfig,
    ProviderConfig,
    SamplingConfig,
    sample_seed,
)
from autoalign.models._registry import get_provider
from autoalign.store import Store

VALID = '{"label": "flawed", "reason": "the test was edited"}'


class Verdict(BaseModel):
    label: Literal["ok", "flawed"]
    reason: str = Field(max_length=200)


class Score(BaseModel):
    score: int = Field(ge=0, le=10)


def answer(text: str, *, input_tokens: int = 100, output_tokens: int = 20) -> ModelResponse:
    return ModelResponse(
        parts=[TextPart(text)],
        usage=RequestUsage(input_tokens=input_tokens, output_tokens=output_tokens),
    )


class Script:
    """A FunctionModel function that plays `steps` in order (the last one repeats).

    A step is reply text, or an exception to raise. Counts calls and keeps what it was asked.
    """

    def __init__(self, *steps: str | Exception) -> None:
        self.steps = steps
        self.calls = 0
        self.infos: list[AgentInfo] = []

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        self.infos.append(info)
        if isinstance(step, Exception):
            raise step
        return answer(step)


def client_for(store: Store, run_id: int | None, model_id: str, **overrides: object) -> ModelClient:
    budget = overrides.pop("budget", None)
    seed = overrides.pop("seed", 0)
    config = ModelsConfig.model_validate(
        {"default": model_id, "backoff_base_s": 0.001, "backoff_max_s": 0.005, **overrides}
    )
    assert budget is None or isinstance(budget, Budget)
    assert isinstance(seed, int)
    return ModelClient(config=config, ledger=store, run_id=run_id, budget=budget, seed=seed)


def http_error(status: int, message: str = "nope") -> ModelHTTPError:
    return ModelHTTPError(status, "scripted", body={"error": {"message": message}})


async def test_valid_output_is_typed_costed_and_booked(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    model_id = script(fn)
    client = client_for(store, run_id, model_id)
    reply = await client.ask(
        "critic", Verdict, instructions="Judge.", prompt="Paper text", step_key="s1"
    )
    assert reply.ok
    assert reply.output == Verdict(label="flawed", reason="the test was edited")
    assert (reply.input_tokens, reply.output_tokens, reply.attempts) == (100, 20, 1)
    assert reply.cost_usd == 0.0  # scripted models are free
    assert reply.raw == VALID
    assert fn.infos[0].instructions == "Judge."
    settings = fn.infos[0].model_settings or {}
    assert (settings.get("temperature"), settings.get("max_tokens"), settings.get("seed")) == (
        0.7,
        512,
        0,
    )
    [row] = store.calls(run_id=run_id)
    assert (row.role, row.model, row.step_key, row.cache_hit, row.error) == (
        "critic",
        model_id,
        "s1",
        False,
        None,
    )
    assert (row.input_tokens, row.output_tokens, row.attempts) == (100, 20, 1)


async def test_second_identical_ask_is_a_cache_hit(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    client = client_for(store, run_id, script(fn))
    first = await client.ask("critic", Verdict, instructions="i", prompt="p")
    second = await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert fn.calls == 1
    assert not first.cache_hit and second.cache_hit
    assert second.output == first.output
    assert second.cache_key == first.cache_key
    assert (second.input_tokens, second.output_tokens, second.cost_usd) == (0, 0, 0.0)
    rows = store.calls(run_id=run_id)
    assert [r.cache_hit for r in rows] == [False, True]
    assert (rows[1].input_tokens, rows[1].output_tokens, rows[1].cost_usd) == (0, 0, 0.0)
    usage = store.run_usage(run_id)
    assert (usage.calls, usage.cache_hits, usage.input_tokens) == (2, 1, 100)


async def test_cache_is_shared_across_clients_of_the_store(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    model_id = script(fn)
    await client_for(store, run_id, model_id).ask("critic", Verdict, instructions="i", prompt="p")
    again = await client_for(store, None, model_id).ask(
        "critic", Verdict, instructions="i", prompt="p"
    )
    assert again.cache_hit and fn.calls == 1


async def test_key_changes_with_sampling_schema_seed_and_model(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    model_id = script(fn)
    client = client_for(store, run_id, model_id)

    class Verdict2(Verdict):
        confidence: float = Field(ge=0, le=1, default=0.5)

    async def key(
        *,
        model: str = model_id,
        seed: int = 0,
        output_type: type[Verdict] = Verdict,
        sampling: SamplingConfig | None = None,
    ) -> str:
        c = client_for(store, run_id, model, seed=seed)
        reply = await c.ask("critic", output_type, instructions="i", prompt="p", sampling=sampling)
        return reply.cache_key

    base = await key()
    variants = {
        "temperature": await key(sampling=SamplingConfig(temperature=0.0)),
        "max_tokens": await key(sampling=SamplingConfig(max_tokens=64)),
        "top_p": await key(sampling=SamplingConfig(top_p=0.9)),
        "schema": await key(output_type=Verdict2),
        "seed": await key(seed=1),
        "model": await key(model=script(Script(VALID))),
    }
    assert base == await key()  # same request, same key
    assert base == (await client.ask("critic", Verdict, instructions="i", prompt="p")).cache_key
    assert len({base, *variants.values()}) == 1 + len(variants)
    assert (await client.ask("critic", Verdict, instructions="i", prompt="q")).cache_key != base
    assert (await client.ask("critic", Verdict, instructions="j", prompt="p")).cache_key != base
    # the same model was called once per distinct key, never for a repeat
    assert fn.calls == 1 + 5 + 2


async def test_invalid_output_is_re_asked_then_succeeds(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script('{"label": "maybe"}', VALID)
    reply = await client_for(store, run_id, script(fn)).ask(
        "critic", Verdict, instructions="i", prompt="p"
    )
    assert fn.calls == 2
    assert reply.ok and reply.output is not None and reply.output.label == "flawed"
    assert (reply.attempts, reply.input_tokens, reply.output_tokens) == (2, 200, 40)
    [row] = store.calls(run_id=run_id)
    assert (row.attempts, row.input_tokens, row.output_tokens, row.error) == (2, 200, 40, None)


async def test_invalid_output_forever_is_a_cached_failed_reply(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script("I think it is flawed, probably.", "still not JSON")
    client = client_for(store, run_id, script(fn), output_retries=2)
    reply = await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert fn.calls == 3  # the first answer and two re-asks
    assert not reply.ok and reply.output is None
    assert reply.raw == "still not JSON"
    assert reply.error is not None and "invalid output" in reply.error
    assert (reply.attempts, reply.input_tokens) == (3, 300)

    again = await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert fn.calls == 3  # never paid twice
    assert again.cache_hit and not again.ok
    assert (again.raw, again.error) == (reply.raw, reply.error)
    rows = store.calls(run_id=run_id)
    assert [(r.cache_hit, r.error is not None, r.input_tokens) for r in rows] == [
        (False, True, 300),
        (True, True, 0),
    ]


async def test_transient_errors_are_retried_then_succeed(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(http_error(429, "slow down"), http_error(503, "overloaded"), VALID)
    reply = await client_for(store, run_id, script(fn), max_retries=4).ask(
        "critic", Verdict, instructions="i", prompt="p"
    )
    assert reply.ok and fn.calls == 3
    assert reply.attempts == 3
    assert (reply.input_tokens, reply.output_tokens) == (100, 20)  # failed requests paid nothing
    [row] = store.calls(run_id=run_id)
    assert (row.attempts, row.error) == (3, None)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_non_transient_http_error_raises_at_once(
    store: Store, run_id: int, script: Callable[[FunctionDef], str], status: int
) -> None:
    fn = Script(http_error(status, "Incorrect API key provided"), VALID)
    model_id = script(fn)
    client = client_for(store, run_id, model_id, max_retries=4)
    with pytest.raises(ModelError) as err:
        await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert fn.calls == 1
    exc = err.value
    assert (exc.provider, exc.model, exc.status, exc.retryable) == (
        "scripted",
        model_id,
        status,
        False,
    )
    assert f"HTTP {status}" in str(exc) and "Incorrect API key provided" in str(exc)
    [row] = store.calls(run_id=run_id)
    assert row.error == str(exc) and row.attempts == 1
    # errors are not cached: the same ask goes to the model again
    assert (await client.ask("critic", Verdict, instructions="i", prompt="p")).ok
    assert fn.calls == 2


async def test_retries_exhausted_raise_retryable_model_error(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(http_error(503, "overloaded"))
    client = client_for(store, run_id, script(fn), max_retries=2)
    with pytest.raises(ModelError) as err:
        await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert fn.calls == 3
    assert err.value.retryable and err.value.status == 503
    assert "gave up after 3 attempts" in str(err.value)


async def test_backoff_is_capped_exponential(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(http_error(429), http_error(429), http_error(429), VALID)
    client = client_for(
        store, run_id, script(fn), max_retries=3, backoff_base_s=0.05, backoff_max_s=0.08
    )
    started = time.monotonic()
    await client.ask("critic", Verdict, instructions="i", prompt="p")
    elapsed = time.monotonic() - started
    # delays: [0.025, 0.05], [0.04, 0.08], [0.04, 0.08] (the last two capped at 0.08)
    assert 0.105 <= elapsed < 1.0


async def test_token_budget_stops_before_the_call(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    client = client_for(store, run_id, script(fn), budget=Budget(max_tokens=100))
    with pytest.raises(BudgetExceededError, match="token budget") as err:
        await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert "limit 100" in str(err.value)
    assert fn.calls == 0
    assert store.calls(run_id=run_id) == []


async def test_budget_counts_the_run_and_stops_it(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    small = SamplingConfig(max_tokens=50)
    # the first call's estimate (~52 tokens) fits in 160; it uses 120, so the next cannot
    client = client_for(store, run_id, script(fn), budget=Budget(max_tokens=160))
    await client.ask("critic", Verdict, instructions="i", prompt="one", sampling=small)
    with pytest.raises(BudgetExceededError, match="120 tokens used"):
        await client.ask("critic", Verdict, instructions="i", prompt="two", sampling=small)
    tiny = SamplingConfig(max_tokens=1)
    with pytest.raises(BudgetExceededError):  # once hit, the run stays stopped
        await client.ask("critic", Verdict, instructions="i", prompt="three", sampling=tiny)
    assert fn.calls == 1
    # answers already paid for are still served
    hit = await client.ask("critic", Verdict, instructions="i", prompt="one", sampling=small)
    assert hit.cache_hit


async def test_dollar_budget_uses_the_configured_price(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    model_id = script(fn)
    name = model_id.split(":", 1)[1]
    price = {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0}  # $0.001 per token
    client = client_for(
        store,
        run_id,
        model_id,
        providers={"scripted": {"prices": {name: price}}},
        budget=Budget(max_usd=0.5),
    )
    small = SamplingConfig(max_tokens=50)
    reply = await client.ask("critic", Verdict, instructions="i", prompt="p", sampling=small)
    assert reply.cost_usd == pytest.approx(0.12)  # 120 tokens
    assert store.run_usage(run_id).cost_usd == pytest.approx(0.12)
    big = SamplingConfig(max_tokens=400)
    with pytest.raises(BudgetExceededError, match=r"dollar budget.*\$0\.1200 used"):
        await client.ask("critic", Verdict, instructions="i", prompt="q", sampling=big)
    assert fn.calls == 1


async def test_per_provider_concurrency_limit(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    in_flight = peak = 0

    async def slow(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return answer('{"score": 3}')

    client = client_for(
        store, run_id, script(slow), providers={"scripted": ProviderConfig(concurrency=2)}
    )
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(client.ask("critic", Score, instructions="i", prompt=f"p{i}"))
            for i in range(8)
        ]
    assert all(t.result().ok for t in tasks)
    assert peak == 2


async def test_the_first_wave_is_sent_when_every_ask_begun_is_on_the_network(
    store: Store, run_id: int, script: Callable[[FunctionDef], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`wave_sent` returns once every ask begun has sent its request, or waits for a provider
    slot behind asks that have; not for a client whose asks are all answered from the cache."""
    in_flight = 0
    release = asyncio.Event()

    async def held(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal in_flight
        in_flight += 1
        await release.wait()
        return answer('{"score": 3}')

    model = script(held)
    client = client_for(store, run_id, model, providers={"scripted": ProviderConfig(concurrency=3)})
    sending = 0
    run = client._run

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal sending
        sending += 1
        return await run(*args, **kwargs)

    monkeypatch.setattr(client, "_run", counted)
    asks = [
        asyncio.ensure_future(client.ask("critic", Score, instructions="i", prompt=f"p{i}"))
        for i in range(5)
    ]
    await asyncio.wait_for(client.wave_sent(), timeout=5)
    # Three asks hold the provider's slots and their requests have reached the model (an agent
    # run takes a few turns of the loop to get there); two wait for a slot.
    assert (sending, in_flight) == (3, 3) and not any(a.done() for a in asks)
    await asyncio.sleep(0.05)
    assert (sending, in_flight) == (3, 3)
    release.set()
    assert all(r.ok for r in await asyncio.gather(*asks))

    cached = client_for(store, run_id, model)
    again = await cached.ask("critic", Score, instructions="i", prompt="p0")
    assert again.cache_hit
    wave = asyncio.ensure_future(cached.wave_sent())
    await asyncio.sleep(0.05)
    assert not wave.done()
    wave.cancel()


async def test_default_concurrency_is_the_providers_own(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    """Without `concurrency` set, a provider's `default_concurrency` bounds its calls (64 for
    the scripted provider, which only a test's script makes wait)."""
    limit = get_provider("scripted").default_concurrency
    assert limit == 64
    in_flight = peak = 0
    full = asyncio.Event()

    async def slow(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        # Each call waits until `limit` are in flight (or gives up after 5 s): the peak is then
        # exactly the limit however slowly a loaded machine starts the calls, and a lower
        # limit shows as a lower peak, not as a flaky timing.
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= limit:
            full.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(full.wait(), timeout=5)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return answer('{"score": 3}')

    client = client_for(store, run_id, script(slow))
    async with asyncio.TaskGroup() as tg:
        for i in range(limit + 6):
            tg.create_task(client.ask("critic", Score, instructions="i", prompt=f"p{i}"))
    assert peak == limit


def test_remote_providers_default_to_wide_concurrency_and_local_to_one() -> None:
    assert get_provider("openai").default_concurrency == 32
    assert get_provider("anthropic").default_concurrency == 16
    assert get_provider("local").default_concurrency == 1


async def test_schema_script_needs_no_registration_and_sleeps(store: Store, run_id: int) -> None:
    client = client_for(
        store,
        run_id,
        "scripted:schema",
        providers={"scripted": ProviderConfig(latency_s=0.1)},
    )
    started = time.monotonic()
    reply = await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert time.monotonic() - started >= 0.1
    assert reply.ok and isinstance(reply.output, Verdict)
    assert Verdict.model_validate(json.loads(reply.raw)) == reply.output
    assert reply.cost_usd == 0.0 and reply.input_tokens > 0


async def test_calls_outside_a_run_are_booked_without_one(
    store: Store, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    client = client_for(store, None, script(fn), budget=Budget(max_tokens=600))
    await client.ask("critic", Verdict, instructions="i", prompt="p")
    with pytest.raises(BudgetExceededError, match="120 tokens used"):
        await client.ask("critic", Verdict, instructions="i", prompt="q")
    [row] = store.calls()
    assert row.run_id is None


async def test_identical_asks_in_flight_are_paid_once(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    calls = 0

    async def slow(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        return answer('{"score": 3}')

    client = client_for(store, run_id, script(slow))
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(client.ask("critic", Score, instructions="i", prompt="same"))
            for _ in range(3)
        ]
    replies = [t.result() for t in tasks]
    assert calls == 1
    assert sorted(r.cache_hit for r in replies) == [False, True, True]
    assert [r.output for r in replies] == [Score(score=3)] * 3


async def test_a_cancelled_ask_books_what_it_spent(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    calls = 0
    second_started = asyncio.Event()

    async def invalid_then_hangs(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return answer("not JSON")  # paid for, then re-asked
        second_started.set()
        await asyncio.sleep(10)
        return answer('{"score": 3}')

    client = client_for(store, run_id, script(invalid_then_hangs))
    task = asyncio.create_task(client.ask("critic", Score, instructions="i", prompt="p"))
    await second_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [row] = store.calls(run_id=run_id)
    assert row.error == "interrupted: CancelledError"
    assert (row.input_tokens, row.output_tokens) == (100, 20)


async def test_a_failed_task_group_does_not_poison_later_calls(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    """Python 3.11's TaskGroup leaves the parent's cancellation count raised after a child
    fails; pydantic-ai reads a raised count as a cancelled run. Later asks must still work."""
    fn = Script('{"score": 3}')
    client = client_for(store, run_id, script(fn))

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("a sibling failed")

    with pytest.raises(ExceptionGroup):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fails())
            tg.create_task(asyncio.sleep(1))
    reply = await client.ask("critic", Score, instructions="i", prompt="after")
    assert reply.ok and fn.calls == 1


async def test_each_sample_of_a_repeated_prompt_has_its_own_seed_and_cache_key(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(VALID)
    model_id = script(fn)
    client = client_for(store, run_id, model_id, seed=5)

    async def ask(sample: int | None) -> str:
        reply = await client.ask(
            "proposer", Verdict, instructions="i", prompt="babble", sample=sample
        )
        return reply.cache_key

    keys = [await ask(s) for s in (0, 1, 2)]
    assert len(set(keys)) == 3  # three independent samples, not one cached answer
    assert fn.calls == 3
    sent = [(i.model_settings or {}).get("seed") for i in fn.infos]
    assert sent == [sample_seed(5, s) for s in (0, 1, 2)] and len(set(sent)) == 3
    # The same sample again is a cache hit; no sample is the client's own seed.
    assert await ask(1) == keys[1] and fn.calls == 3
    assert await ask(None) not in keys and (fn.infos[-1].model_settings or {})["seed"] == 5
    # A stage re-run (another client seed) gives every sample a new seed.
    assert sample_seed(5 + 1_000_003, 0) != sample_seed(5, 0)
    assert sample_seed(0, 0) != sample_seed(0, 1)
