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
def test_attempts_count_until_their_outcome_is_known(store: Store) -> None:
    """An attempt is in the ledger before its request is sent: pending (and lost) attempts count
    at their estimate; once the ask is booked, its attempts are linked to the ledger row and only
    the row's real tokens count."""
    from autoalign.store import AttemptStatus, CacheRecord

    run = store.create_run(name="r", agenda_digest="d" * 64, config={})

    def begin(est: int) -> int:
        return store.begin_attempt(
            run_id=run.id, role="critic", model="openai:gpt-x", step_key="s", cache_key="c" * 64,
            est_tokens=est, est_cost_usd=est / 1e6,
        )

    first = begin(500)
    usage = store.run_usage(run.id)
    assert (usage.calls, usage.unfinished_calls, usage.unseen_tokens) == (0, 1, 500)
    assert usage.unseen_usd == pytest.approx(500 / 1e6)

    store.finish_attempt(first, AttemptStatus.LOST, error="ModelTimeoutError")
    second = begin(500)
    usage = store.run_usage(run.id)
    assert (usage.unfinished_calls, usage.unseen_tokens) == (1, 1000)

    answer = CacheRecord(
        key="c" * 64, model="openai:gpt-x", raw="{}", output={}, error=None,
        input_tokens=40, output_tokens=10,
    )
    call_id = store.record_call(
        run_id=run.id, role="critic", model="openai:gpt-x", step_key="s", cache_key="c" * 64,
        input_tokens=40, output_tokens=10, attempts=2, answer=answer,
        attempt_ids=[first, second], last_attempt=AttemptStatus.ANSWERED,
    )
    usage = store.run_usage(run.id)
    # the lost request may have been billed: it still counts at its estimate
    assert (usage.calls, usage.unfinished_calls, usage.unseen_tokens) == (1, 0, 500)
    assert usage.input_tokens + usage.output_tokens == 50
    attempts = store.attempts(run_id=run.id)
    assert [(a.status, a.call_id) for a in attempts] == [
        (AttemptStatus.LOST, call_id),
        (AttemptStatus.ANSWERED, call_id),
    ]
    assert attempts[0].error == "ModelTimeoutError" and attempts[1].finished_at is not None
    assert store.cache_get("c" * 64) is not None


def test_a_second_answer_under_the_same_key_keeps_the_first(store: Store) -> None:
    """Two processes answering the same ask both book their call; the cache keeps one answer
    (INSERT ... ON CONFLICT DO NOTHING) instead of failing the second transaction."""
    from autoalign.store import CacheRecord

    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    for raw in ("first", "second"):
        answer = CacheRecord(
            key="k" * 64, model="m:x", raw=raw, output=None, error="invalid output",
            input_tokens=1, output_tokens=1,
        )
        store.record_call(run_id=run.id, role="r", model="m:x", answer=answer)
    entry = store.cache_get("k" * 64)
    assert entry is not None and entry.raw == "first"
    assert store.run_usage(run.id).calls == 2


def test_cache_drop_only_drops_the_named_failure(store: Store) -> None:
    store.cache_put(key="a" * 64, model="m:x", request={}, raw="", output=None, error="garbled")
    store.cache_put(key="b" * 64, model="m:x", request={}, raw="{}", output={})
    store.cache_drop("a" * 64, error="other")
    store.cache_drop("b" * 64, error="garbled")
    assert store.cache_get("a" * 64) is not None and store.cache_get("b" * 64) is not None
    store.cache_drop("a" * 64, error="garbled")
    assert store.cache_get("a" * 64) is None


def test_only_a_sqlite_ledger_is_local(store: Store, db_url: str) -> None:
    # The model client makes the cache trip on its event loop only when the ledger is local.
    assert store.local is db_url.startswith("sqlite")
