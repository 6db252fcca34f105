"""The budget's running totals and reservations: exact, O(1) per check, shared by clients and
processes on one run, rebuilt on resume. And the agents and output adapters built once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionDef
from pydantic_ai.usage import RequestUsage

from autoalign.errors import BudgetExceededError
from autoalign.models import Budget, SamplingConfig, register_script
from autoalign.models import _client as client_module
from autoalign.store import AttemptStatus, BudgetTotals, Reservation, Store

from .test_models_client import VALID, Script, Verdict, client_for, http_error

SMALL = SamplingConfig(max_tokens=50)


def retotalled(store: Store, run_id: int) -> tuple[int, float, int, float]:
    """(spent tokens, spent USD, unseen tokens, unseen USD) re-totalled from every row."""
    usage = store.run_usage(run_id)
    return (usage.input_tokens + usage.output_tokens, usage.cost_usd, usage.unseen_tokens,
            usage.unseen_usd)


def assert_totals_match(store: Store, run_id: int) -> BudgetTotals:
    spent_tokens, spent_usd, unseen_tokens, unseen_usd = retotalled(store, run_id)
    totals = store.budget_totals(run_id)
    assert (totals.spent_tokens, totals.unseen_tokens) == (spent_tokens, unseen_tokens)
    assert totals.spent_usd == pytest.approx(spent_usd)
    assert totals.unseen_usd == pytest.approx(unseen_usd)
    assert (totals.reserved_tokens, totals.reserved_usd) == (0, pytest.approx(0.0))
    return totals


class Counting:
    """Answers every ask (after `delay_s`, awaited); counts the requests it got."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self.lock = threading.Lock()

    async def __call__(self, _messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        with self.lock:
            self.calls += 1
        await asyncio.sleep(self.delay_s)
        return ModelResponse(parts=[TextPart(VALID)],
                             usage=RequestUsage(input_tokens=40, output_tokens=10))


PRICE = {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0}  # $0.001 per token


async def test_running_totals_equal_the_ledger_after_calls_failures_and_cache_hits(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    steps: list[str | Exception] = [
        VALID,  # one: answered
        "not json", "still not", "nor this",  # two: invalid output after the re-asks
        http_error(503), VALID,  # three: a transient failure, then answered
        http_error(400),  # four: a provider error that is not retried
    ]
    model_id = script(Script(*steps))
    name = model_id.split(":", 1)[1]
    client = client_for(store, run_id, model_id, budget=Budget(max_tokens=100_000, max_usd=50.0),
                        providers={"scripted": {"prices": {name: PRICE}}})
    one = await client.ask("critic", Verdict, instructions="i", prompt="one", sampling=SMALL)
    two = await client.ask("critic", Verdict, instructions="i", prompt="two", sampling=SMALL)
    three = await client.ask("critic", Verdict, instructions="i", prompt="three", sampling=SMALL)
    with pytest.raises(Exception, match="400"):
        await client.ask("critic", Verdict, instructions="i", prompt="four", sampling=SMALL)
    hit = await client.ask("critic", Verdict, instructions="i", prompt="one", sampling=SMALL)
    assert one.ok and not two.ok and three.ok and hit.cache_hit
    # A request left pending (a killed process) and one lost count at their estimates.
    pending = store.begin_attempt(run_id=run_id, role="critic", model=model_id, step_key=None,
                                  cache_key=None, est_tokens=77, est_cost_usd=0.077)
    lost = store.begin_attempt(run_id=run_id, role="critic", model=model_id, step_key=None,
                               cache_key=None, est_tokens=5, est_cost_usd=None)
    store.finish_attempt(lost, AttemptStatus.LOST, error="timed out")
    totals = assert_totals_match(store, run_id)
    assert totals.spent_tokens > 0 and totals.unseen_tokens == 77 + 5
    assert totals.spent_usd == pytest.approx(totals.spent_tokens * 0.001)
    # Its outcome arrives after all: out of the unseen total.
    store.finish_attempt(pending, AttemptStatus.FAILED, error="refused")
    assert assert_totals_match(store, run_id).unseen_tokens == 5
    # Rebuilt from the rows, the totals are what they were.
    before = store.budget_totals(run_id)
    assert store.reconcile_budget(run_id) == before


async def test_a_lost_request_in_a_retried_ask_stays_counted(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    fn = Script(TimeoutError("hung"), VALID)
    client = client_for(store, run_id, script(fn), budget=Budget(max_tokens=100_000))
    reply = await client.ask("critic", Verdict, instructions="i", prompt="p", sampling=SMALL)
    assert reply.ok and fn.calls == 2
    statuses = [a.status for a in store.attempts(run_id=run_id)]
    assert statuses == [AttemptStatus.LOST, AttemptStatus.ANSWERED]
    totals = assert_totals_match(store, run_id)
    assert totals.unseen_tokens == store.attempts(run_id=run_id)[0].est_tokens


async def test_reservations_keep_concurrent_asks_within_the_budget(
    store: Store, run_id: int
) -> None:
    """20 asks at once, room for 5: the reservations let no more than 5 requests go out."""
    model = Counting(delay_s=0.05)
    register_script("budget-twenty", model)
    # Each ask's estimate: (1 + 4) // 4 + 1 + 50 = 52 tokens; it spends 50.
    client = client_for(store, run_id, "scripted:budget-twenty",
                        budget=Budget(max_tokens=5 * 52 + 10),
                        providers={"scripted": {"concurrency": 20}})
    results = await asyncio.gather(
        *(client.ask("critic", Verdict, instructions="i", prompt=f"p{i:03d}", sampling=SMALL)
          for i in range(20)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert 1 <= model.calls <= 5 and len(answered) == model.calls
    assert len(refused) == 20 - model.calls
    totals = assert_totals_match(store, run_id)
    assert totals.spent_tokens == 50 * model.calls <= 5 * 52 + 10


def test_two_stores_on_one_run_share_its_budget(db_url: str) -> None:
    """Two clients on two `Store`s of one database (as two processes would be), asking at once:
    together they send no more requests than the run's budget has room for."""
    with Store.open(db_url) as first, Store.open(db_url) as second:
        run_id = first.create_run(name="shared", agenda_digest="s" * 64, config={}).id
        model = Counting(delay_s=0.02)
        register_script("budget-shared", model)
        budget = Budget(max_tokens=6 * 52 + 10)  # room for 6 asks of 52 tokens
        outcomes: dict[str, list[object]] = {}

        def side(name: str, store: Store) -> None:
            async def asks() -> list[object]:
                client = client_for(store, run_id, "scripted:budget-shared", budget=budget,
                                    providers={"scripted": {"concurrency": 3}})
                found: list[object] = []
                for i in range(8):
                    try:
                        found.append(await client.ask("critic", Verdict, instructions="i",
                                                      prompt=f"{name}{i}", sampling=SMALL))
                    except BudgetExceededError as exc:
                        found.append(exc)
                        break
                return found

            outcomes[name] = asyncio.run(asks())

        threads = [threading.Thread(target=side, args=(name, store))
                   for name, store in (("a", first), ("b", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert model.calls <= 6
        assert all(isinstance(found[-1], BudgetExceededError) for found in outcomes.values())
        totals = assert_totals_match(first, run_id)
        assert totals.spent_tokens == 50 * model.calls <= budget.max_tokens  # type: ignore[operator]


def test_a_reservation_is_atomic_against_the_limits(db_url: str) -> None:
    with Store.open(db_url) as store:
        run_id = store.create_run(name="r", agenda_digest="r" * 64, config={}).id
        hold = Reservation(tokens=40, usd=0.5)
        grants = [store.reserve_budget(run_id, hold, max_tokens=100, max_usd=None).granted
                  for _ in range(3)]
        assert grants == [True, True, False]
        refused = store.reserve_budget(run_id, hold, max_tokens=None, max_usd=0.9)
        assert not refused.granted and refused.totals.reserved_usd == pytest.approx(1.0)
        store.release_budget(run_id, hold)
        assert store.budget_totals(run_id).reserved_tokens == 40


def test_resuming_a_run_rebuilds_its_totals(store: Store) -> None:
    """A process died with an ask in flight: its reservation stays in the totals and its
    attempt pending. Resuming the run drops the reservation and counts the attempt at its
    estimate, once, as the ledger says."""
    start = store.start_run(name="r", agenda_digest="d" * 64, config={})
    run_id = start.run.id
    hold = Reservation(tokens=300, usd=0.0)
    assert store.reserve_budget(run_id, hold, max_tokens=1000, max_usd=None).granted
    store.begin_attempt(run_id=run_id, role="critic", model="scripted:x", step_key=None,
                        cache_key=None, est_tokens=300, est_cost_usd=None, reserved=True)
    store.record_call(run_id=run_id, role="critic", model="scripted:x", input_tokens=70,
                      output_tokens=30)
    died = store.budget_totals(run_id)
    assert (died.spent_tokens, died.unseen_tokens, died.reserved_tokens) == (100, 0, 300)

    again = store.start_run(name="r", agenda_digest="d" * 64, config={})
    assert again.outcome == "resumed" and again.run.id == run_id
    totals = assert_totals_match(store, run_id)
    assert (totals.spent_tokens, totals.unseen_tokens, totals.used_tokens) == (100, 300, 400)
    # The same after a claim (how a killed run is taken over).
    store.claim_run(run_id)
    assert store.budget_totals(run_id) == totals


def test_a_run_from_before_the_totals_gets_them_on_first_use(store: Store) -> None:
    run_id = store.create_run(name="old", agenda_digest="o" * 64, config={}).id
    store.record_call(run_id=run_id, role="critic", model="scripted:x", input_tokens=10,
                      output_tokens=5)
    from autoalign.store._schema import RunBudget

    with store._write() as s:
        s.query(RunBudget).filter(RunBudget.run_id == run_id).delete()
    assert store.budget_totals(run_id).spent_tokens == 15  # re-totalled, not stored
    check = store.reserve_budget(run_id, Reservation(tokens=10, usd=0.0), max_tokens=20,
                                 max_usd=None)
    assert not check.granted and check.totals.spent_tokens == 15


async def test_an_ask_builds_its_agent_and_output_adapter_once(
    store: Store, run_id: int, script: Callable[[FunctionDef], str], monkeypatch: Any
) -> None:
    class Fresh(BaseModel):  # a type no other test used, so nothing of it is cached yet
        label: str
        reason: str

    built: list[object] = []
    adapters: list[object] = []
    real_agent, real_adapter = client_module.Agent, client_module.TypeAdapter

    def counting_agent(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs.get("output_type"))
        return real_agent(*args, **kwargs)

    def counting_adapter(*args: Any, **kwargs: Any) -> Any:
        adapters.append(args[0])
        return real_adapter(*args, **kwargs)

    monkeypatch.setattr(client_module, "Agent", counting_agent)
    monkeypatch.setattr(client_module, "TypeAdapter", counting_adapter)
    fn = Script(VALID)
    client = client_for(store, run_id, script(fn))
    first = await client.ask("critic", Fresh, instructions="i", prompt="one")
    second = await client.ask("critic", Fresh, instructions="other", prompt="two")
    assert first.ok and second.ok and fn.calls == 2
    assert len(built) == 1 and adapters == [Fresh]
    # The instructions still reach the model per ask, though the agent is shared.
    assert [info.instructions for info in fn.infos] == ["i", "other"]
    # A cached answer for the same ask is keyed as before (the key did not change).
    hit = await client.ask("critic", Fresh, instructions="i", prompt="one")
    assert hit.cache_hit and hit.cache_key == first.cache_key

