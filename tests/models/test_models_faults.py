"""Provider faults against a real HTTP server on the loopback interface (`stub_openai`).

One table: for each fault, either the call is retried and then succeeds (the ledger shows the
attempts, the answer is cached), or it ends in `ModelError(retryable=True)` with nothing cached,
the attempts in the ledger, and a re-run after the server recovers sends a request and succeeds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field
from pydantic_ai.models import override_allow_model_requests
from sqlalchemy import update

from autoalign.errors import BudgetExceededError, ModelError
from autoalign.models import Budget, CallEvent, ModelClient, ModelsConfig, ProviderConfig
from autoalign.store import AttemptStatus, Store
from autoalign.store._schema import CacheEntry

from .stub_openai import OK, Fault, StubServer


class Finding(BaseModel):
    claim: str = Field(max_length=80)
    supported: bool


@pytest.fixture(autouse=True)
def _allow_requests() -> Iterator[None]:
    with override_allow_model_requests(True):
        yield


def client_for(
    server: StubServer,
    store: Store,
    run_id: int,
    *,
    timeout_s: float = 1.0,
    max_retries: int = 2,
    **kwargs: Any,
) -> ModelClient:
    config = ModelsConfig(
        default="openai:stub",
        providers={"openai": ProviderConfig(base_url=server.base_url, timeout_s=timeout_s)},
        max_retries=max_retries,
        backoff_base_s=0.001,
        backoff_max_s=0.002,
    )
    return ModelClient(config=config, ledger=store, run_id=run_id, **kwargs)


async def ask(client: ModelClient) -> Any:
    try:
        return await client.ask("critic", Finding, instructions="Check.", prompt="p", step_key="s")
    finally:
        await client.aclose()


HANG = Fault("hang")
FAULTS: dict[str, tuple[Fault, AttemptStatus, str]] = {
    # name: (fault, how its attempt is booked, what the final error says)
    "429 Retry-After": (
        Fault("status", 429, headers={"Retry-After": "0"}), AttemptStatus.FAILED, "HTTP 429"
    ),
    "500": (Fault("status", 500), AttemptStatus.FAILED, "HTTP 500"),
    "503": (Fault("status", 503), AttemptStatus.FAILED, "HTTP 503"),
    "hang": (HANG, AttemptStatus.LOST, "did not answer within"),
    "HTML 200": (Fault("html"), AttemptStatus.FAILED, "garbled response"),
    "choices: []": (Fault("empty_choices"), AttemptStatus.FAILED, "garbled response"),
    "no message": (Fault("no_message"), AttemptStatus.FAILED, "garbled response"),
    "truncated JSON": (Fault("truncated"), AttemptStatus.FAILED, "garbled response"),
    "connection reset": (Fault("reset"), AttemptStatus.LOST, "ModelConnectionError"),
}


async def test_healthy_and_slow_answers_pass(store: Store, run_id: int) -> None:
    with StubServer(OK, Fault("latency", delay_s=0.2)) as server:
        first = await ask(client_for(server, store, run_id))
        second = await ask(client_for(server, store, run_id))
        other = await client_for(server, store, run_id).ask(
            "critic", Finding, instructions="Check.", prompt="another"
        )
    assert first.ok and second.cache_hit and other.ok and len(server.requests) == 2
    assert [a.status for a in store.attempts(run_id=run_id)] == [AttemptStatus.ANSWERED] * 2


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_then_recovery_is_retried(store: Store, run_id: int, name: str) -> None:
    fault, booked, _ = FAULTS[name]
    with StubServer(fault, OK) as server:
        reply = await ask(client_for(server, store, run_id))

    assert reply.ok and reply.output == Finding(claim="probes find the feature", supported=True)
    assert len(server.requests) == 2 and reply.attempts == 2
    assert store.cache_get(reply.cache_key) is not None
    [call] = store.calls(run_id=run_id)
    assert (call.error, call.attempts) == (None, 2)
    attempts = store.attempts(run_id=run_id)
    assert [a.status for a in attempts] == [booked, AttemptStatus.ANSWERED]
    assert all(a.call_id == call.id for a in attempts)
    assert attempts[0].error and attempts[1].error is None
    assert store.run_usage(run_id).unfinished_calls == 0


@pytest.mark.parametrize("name", list(FAULTS))
async def test_persistent_fault_is_a_retryable_error_never_cached(
    store: Store, run_id: int, name: str
) -> None:
    fault, booked, says = FAULTS[name]
    with StubServer(fault) as server:
        with pytest.raises(ModelError) as err:
            await ask(client_for(server, store, run_id, timeout_s=0.5))
        assert len(server.requests) == 3  # max_retries=2
        exc = err.value
        assert exc.retryable, str(exc)
        assert says in str(exc) and "gave up after 3 attempts" in str(exc)
        assert "nothing was cached" in str(exc)
        [call] = store.calls(run_id=run_id)
        assert call.error == str(exc) and call.attempts == 3
        assert [a.status for a in store.attempts(run_id=run_id)] == [booked] * 3
        with store._read() as s:
            assert s.query(CacheEntry).count() == 0

        # The server recovers: a re-run asks again (nothing was cached) and succeeds.
        server.recover()
        reply = await ask(client_for(server, store, run_id))
    assert reply.ok and not reply.cache_hit and len(server.requests) == 4
    assert store.cache_get(reply.cache_key) is not None


async def test_invalid_output_is_still_a_cached_failed_reply(store: Store, run_id: int) -> None:
    """Output that does not validate is the model's answer, not a transport fault."""
    with StubServer(OK, answer=lambda _body: '{"claim": 3}') as server:
        reply = await ask(client_for(server, store, run_id))
        again = await ask(client_for(server, store, run_id))
    assert not reply.ok and reply.error and reply.error.startswith("invalid output")
    assert len(server.requests) == 3  # output_retries=2 re-asks, then no more
    assert again.cache_hit and not again.ok
    assert [a.status for a in store.attempts(run_id=run_id)] == [AttemptStatus.ANSWERED]


async def test_garbled_reply_cached_by_an_older_version_is_asked_again(
    store: Store, run_id: int
) -> None:
    with StubServer(OK) as server:
        first = await ask(client_for(server, store, run_id))
        stale = "invalid output: Invalid response from openai chat completions endpoint"
        with store._write() as s:
            s.execute(
                update(CacheEntry)
                .where(CacheEntry.key == first.cache_key)
                .values(output=None, error=stale, raw="")
            )
        reply = await ask(client_for(server, store, run_id))
    assert reply.ok and not reply.cache_hit and len(server.requests) == 2
    entry = store.cache_get(reply.cache_key)
    assert entry is not None and entry.error is None


async def test_a_hung_request_is_pending_in_the_ledger_while_it_waits(
    store: Store, run_id: int
) -> None:
    events: list[CallEvent] = []
    with StubServer(HANG, OK) as server:
        client = client_for(
            server, store, run_id, timeout_s=1.0, on_call=events.append, waiting_after_s=0.1
        )
        task = asyncio.create_task(ask(client))
        while not any(e.kind == "waiting" for e in events):
            await asyncio.sleep(0.02)
        [pending] = store.attempts(run_id=run_id)
        assert pending.status is AttemptStatus.PENDING and pending.est_tokens > 0
        usage = store.run_usage(run_id)
        assert usage.unfinished_calls == 1 and usage.unseen_tokens == pending.est_tokens
        reply = await task
    assert reply.ok
    kinds = [e.kind for e in events]
    assert kinds[0] == "waiting" and "done" in kinds and "retry" in kinds
    waiting = next(e for e in events if e.kind == "waiting")
    assert (waiting.model, waiting.role, waiting.step_key) == ("openai:stub", "critic", "s")
    assert waiting.waited_s >= 0.1 and (waiting.attempt, waiting.max_attempts) == (1, 3)
    retry = next(e for e in events if e.kind == "retry")
    assert retry.attempt == 2 and retry.reason == "ModelTimeoutError"
    # The hung request may have been billed: it stays counted, at its estimate.
    statuses = [a.status for a in store.attempts(run_id=run_id)]
    assert statuses == [AttemptStatus.LOST, AttemptStatus.ANSWERED]
    assert store.run_usage(run_id).unseen_tokens == pending.est_tokens


async def test_retries_are_reported_with_their_reason(store: Store, run_id: int) -> None:
    events: list[CallEvent] = []
    with StubServer(Fault("status", 503), Fault("html"), OK) as server:
        reply = await ask(client_for(server, store, run_id, on_call=events.append))
    assert reply.ok
    retries = [(e.attempt, e.max_attempts, e.reason) for e in events if e.kind == "retry"]
    assert retries == [(2, 3, "HTTP 503"), (3, 3, "garbled response")]


async def test_a_request_left_pending_by_a_killed_process_counts_against_the_budget(
    store: Store, run_id: int
) -> None:
    """A process killed with a request in flight leaves its attempt pending: a resumed run
    counts it at its estimate, so what the provider may have billed is not forgotten."""
    store.begin_attempt(
        run_id=run_id, role="critic", model="openai:stub", step_key="s", cache_key=None,
        est_tokens=900, est_cost_usd=None,
    )
    with StubServer(OK) as server:
        # This ask's estimate is about 514 tokens (prompt / 4 + max_tokens 512): fits in 1000
        # alone, not with the 900 left pending.
        client = client_for(server, store, run_id, budget=Budget(max_tokens=1000))
        with pytest.raises(BudgetExceededError, match="token budget exceeded"):
            await ask(client)
        assert server.requests == []
        assert store.run_usage(run_id).unfinished_calls == 1
