"""The LLM call ledger and the response cache."""

from __future__ import annotations

from typing import Any

import pytest

from autoalign.store import Store


def test_run_usage_totals(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    other = store.create_run(name="other", agenda_digest="e" * 64, config={})

    def call(**kwargs: Any) -> None:
        store.record_call(run_id=run.id, role="ideator", model="openai:gpt-x", **kwargs)

    call(input_tokens=100, output_tokens=50, cost_usd=0.25, latency_s=1.5)
    call(input_tokens=10, output_tokens=5, cost_usd=None, latency_s=0.5)
    call(input_tokens=1000, output_tokens=1000, cost_usd=9.0, cache_hit=True, latency_s=0.01)
    call(input_tokens=7, output_tokens=0, cost_usd=0.5, error="timeout", attempts=3)
    store.record_call(
        run_id=other.id, role="critic", model="openai:gpt-x", input_tokens=1, cost_usd=100.0
    )

    usage = store.run_usage(run.id)

    assert usage.calls == 4
    assert usage.cache_hits == 1
    assert usage.errors == 1
    assert usage.input_tokens == 117  # the cache hit's 1000 are not spent
    assert usage.output_tokens == 55
    assert usage.cost_usd == pytest.approx(0.75)
    assert usage.unpriced_calls == 1
    assert usage.latency_s == pytest.approx(2.01)
    assert [c.attempts for c in store.calls(run_id=run.id)] == [1, 1, 1, 3]


def test_usage_of_a_run_without_calls_is_zero(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    usage = store.run_usage(run.id)
    assert (usage.calls, usage.input_tokens, usage.cost_usd, usage.unpriced_calls) == (0, 0, 0, 0)


def test_cache_put_keeps_the_first_answer(store: Store) -> None:
    assert store.cache_get("k" * 64) is None
    request = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    store.cache_put(
        key="k" * 64,
        model="openai:gpt-x",
        request=request,
        raw='{"a": 1}',
        output={"a": 1},
        input_tokens=3,
        output_tokens=4,
    )
    store.cache_put(
        key="k" * 64,
        model="openai:gpt-x",
        request=request,
        raw='{"a": 2}',
        output={"a": 2},
        input_tokens=30,
        output_tokens=40,
    )

    cached = store.cache_get("k" * 64)
    assert cached is not None
    assert (cached.raw, cached.output, cached.input_tokens, cached.output_tokens) == (
        '{"a": 1}',
        {"a": 1},
        3,
        4,
    )


def test_cache_keeps_failed_validations(store: Store) -> None:
    store.cache_put(
        key="f" * 64,
        model="openai:gpt-x",
        request={},
        raw="not json",
        output=None,
        error="invalid JSON",
    )
    cached = store.cache_get("f" * 64)
    assert cached is not None
    assert (cached.raw, cached.output, cached.error) == ("not json", None, "invalid JSON")


def test_a_cache_write_that_loses_a_race_is_harmless(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes asking the same prompt both find no entry, then both write one."""
    from sqlalchemy.orm import Session

    from autoalign.store import CacheRecord

    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    store.cache_put(key="k" * 64, model="m:x", request=None, raw="first", output={"a": 1})
    # The other process committed after this one looked: its entry is invisible to any check.
    monkeypatch.setattr(Session, "get", lambda *_args, **_kwargs: None)
    answer = CacheRecord(key="k" * 64, model="m:x", raw="second", output={"a": 2}, error=None,
                         input_tokens=1, output_tokens=1)
    store.record_call(run_id=run.id, role="judge", model="m:x", cache_key="k" * 64, answer=answer)
    store.cache_put(key="k" * 64, model="m:x", request=None, raw="third", output={"a": 3})
    monkeypatch.undo()
    cached = store.cache_get("k" * 64)
    assert cached is not None and cached.raw == "first"
    assert len(store.calls(run_id=run.id)) == 1  # the ledger row of the losing writer is kept
