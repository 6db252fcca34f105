"""`CallLedger`: the client needs only the protocol, and its database calls leave the loop free."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo
from pydantic_ai.usage import RequestUsage

from autoalign.errors import BudgetExceededError
from autoalign.models import Budget, CallLedger, ModelClient, ModelsConfig, register_script
from autoalign.store import (
    AttemptStatus,
    BudgetCheck,
    BudgetTotals,
    CacheRecord,
    Reservation,
    Store,
    UsageTotals,
)

LEDGER_METHODS = ("cache_get", "cache_drop", "begin_attempt", "finish_attempt", "record_call",
                  "run_usage", "reserve_budget", "release_budget")


class Answer(BaseModel):
    text: str


@dataclass
class FakeLedger:
    """An in-memory ledger implementing exactly `CallLedger`; `delay_s` makes each call block
    its thread, as a slow database would (`delays` per method). Records which threads served
    it. `run_usage` takes its snapshot first, then blocks: what it returns may be stale.
    `reserve_budget` blocks first, then checks and reserves atomically, as a database would."""

    delay_s: float = 0.0
    delays: dict[str, float] = field(default_factory=dict)
    local: bool = False
    """True plays SQLite: the client may read and write the cache trip on its event loop."""
    cache: dict[str, CacheRecord] = field(default_factory=dict)
    calls: list[dict[str, object]] = field(default_factory=list)
    attempts: dict[int, tuple[AttemptStatus, int]] = field(default_factory=dict)
    threads: set[int] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    """`latency_s` of each ledger row, in order."""
    reserved: int = 0
    covered: set[int] = field(default_factory=set)
    """Attempts sent under a reservation: counted by it while pending."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _enter(self) -> None:
        self.threads.add(threading.get_ident())
        caller = inspect.stack()[1].function
        time.sleep(self.delays.get(caller, self.delay_s))

    def cache_get(self, key: str) -> CacheRecord | None:
        self._enter()
        return self.cache.get(key)

    def cache_drop(self, key: str, *, error: str) -> None:
        self._enter()
        if key in self.cache and self.cache[key].error == error:
            del self.cache[key]

    def begin_attempt(
        self, *, run_id: int | None, role: str, model: str, step_key: str | None,
        cache_key: str | None, est_tokens: int, est_cost_usd: float | None,
        reserved: bool = False,
    ) -> int:
        self._enter()
        with self._lock:
            attempt_id = next(self._ids)
            self.attempts[attempt_id] = (AttemptStatus.PENDING, est_tokens)
            if reserved:
                self.covered.add(attempt_id)
            return attempt_id

    def finish_attempt(
        self, attempt_id: int, status: AttemptStatus, *, error: str | None = None,
        reserved: bool = False,
    ) -> None:
        self._enter()
        with self._lock:
            self.attempts[attempt_id] = (status, self.attempts[attempt_id][1])
            self.covered.discard(attempt_id)

    def record_call(
        self, *, run_id: int | None, role: str, model: str, step_key: str | None = None,
        cache_key: str | None = None, input_tokens: int = 0, output_tokens: int = 0,
        latency_s: float = 0.0, cost_usd: float | None = None, cache_hit: bool = False,
        attempts: int = 1, error: str | None = None, answer: CacheRecord | None = None,
        attempt_ids: Sequence[int] = (), last_attempt: AttemptStatus | None = None,
        reservation: Reservation | None = None,
    ) -> int:
        self._enter()
        with self._lock:
            if answer is not None:
                self.cache.setdefault(answer.key, answer)
            if attempt_ids and last_attempt is not None:
                self.attempts[attempt_ids[-1]] = (last_attempt, self.attempts[attempt_ids[-1]][1])
                self.covered.discard(attempt_ids[-1])
            if reservation is not None:
                self.reserved -= reservation.tokens
            self.calls.append({"tokens": input_tokens + output_tokens, "cache_hit": cache_hit})
            self.latencies.append(latency_s)
            return len(self.calls)

    def run_usage(self, run_id: int) -> UsageTotals:
        with self._lock:
            paid = [c for c in self.calls if not c["cache_hit"]]
            unseen = [est for status, est in self.attempts.values()
                      if status.may_be_billed_unseen]
            pending = sum(s == AttemptStatus.PENDING for s, _ in self.attempts.values())
        self._enter()
        return UsageTotals(
            calls=len(self.calls), cache_hits=len(self.calls) - len(paid), errors=0,
            input_tokens=sum(int(str(c["tokens"])) for c in paid), output_tokens=0,
            cost_usd=0.0, unpriced_calls=0, latency_s=0.0, unfinished_calls=pending,
            unseen_tokens=sum(unseen),
        )


    def reserve_budget(
        self, run_id: int, reservation: Reservation, *, max_tokens: int | None,
        max_usd: float | None,
    ) -> BudgetCheck:
        self._enter()
        with self._lock:
            spent = sum(int(str(c["tokens"])) for c in self.calls if not c["cache_hit"])
            unseen = sum(est for i, (status, est) in self.attempts.items()
                         if status.may_be_billed_unseen and i not in self.covered)
            used = spent + unseen + self.reserved
            granted = max_tokens is None or used + reservation.tokens <= max_tokens
            if granted:
                self.reserved += reservation.tokens
            totals = BudgetTotals(spent_tokens=spent, spent_usd=0.0, unseen_tokens=unseen,
                                  unseen_usd=0.0, reserved_tokens=self.reserved,
                                  reserved_usd=0.0)
            return BudgetCheck(granted=granted, totals=totals)

    def release_budget(self, run_id: int, reservation: Reservation) -> None:
        self._enter()
        with self._lock:
            self.reserved -= reservation.tokens


class Counting:
    """A scripted model that answers with its call count after `delay_s` (awaited)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s

    async def __call__(self, _messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return ModelResponse(
            parts=[TextPart(f'{{"text": "answer {self.calls}"}}')],
            usage=RequestUsage(input_tokens=80, output_tokens=20),
        )


def client(ledger: CallLedger, script: str, **kwargs: object) -> ModelClient:
    config = ModelsConfig.model_validate({"default": f"scripted:{script}",
                                          "sampling": {"max_tokens": 100}})
    return ModelClient(config=config, ledger=ledger, run_id=1, **kwargs)  # type: ignore[arg-type]


def test_store_has_every_ledger_method_with_the_protocols_signature() -> None:
    members = {
        name for name, value in vars(CallLedger).items()
        if callable(value) and not name.startswith("_")
    }
    assert members == set(LEDGER_METHODS)
    for name in LEDGER_METHODS:
        expected = inspect.signature(getattr(CallLedger, name))
        actual = inspect.signature(getattr(Store, name))
        assert list(actual.parameters) == list(expected.parameters), name
        for param, want in expected.parameters.items():
            got = actual.parameters[param]
            assert (got.kind, got.default) == (want.kind, want.default), (name, param)


async def test_the_client_works_with_a_ledger_that_implements_only_the_protocol() -> None:
    script = Counting()
    register_script("ledger-fake", script)
    ledger = FakeLedger()
    async with client(ledger, "ledger-fake", budget=Budget(max_tokens=10_000)) as models:
        first = await models.ask("worker", Answer, instructions="i", prompt="p")
        again = await models.ask("worker", Answer, instructions="i", prompt="p")
    assert first.output == again.output == Answer(text="answer 1")
    assert (first.cache_hit, again.cache_hit, script.calls) == (False, True, 1)
    assert ledger.calls == [{"tokens": 100, "cache_hit": False}, {"tokens": 0, "cache_hit": True}]
    assert list(ledger.attempts.values()) == [(AttemptStatus.ANSWERED, 100 + 1)]
    # Every ledger call ran in a worker thread, none on the event loop's.
    assert threading.get_ident() not in ledger.threads and ledger.threads


async def test_a_local_ledger_serves_every_trip_on_the_loop() -> None:
    """SQLite (`local`): the lookup, the reservation, the attempt row and the booking are made
    on the event loop, where they cost less than the hop to a thread and back; the asks started
    together still all begin before one sends (both were checked before either sent). A
    server's ledger serves every trip from threads (`test_the_client_works_with_...`)."""
    script = Counting()
    register_script("ledger-local", script)
    ledger = FakeLedger(local=True)
    served: dict[str, set[int]] = {}
    order: list[str] = []
    enter = ledger._enter

    def where() -> None:  # which thread served which ledger method, in order
        order.append(inspect.stack()[1].function)
        served.setdefault(order[-1], set()).add(threading.get_ident())
        enter()

    ledger._enter = where  # type: ignore[method-assign]
    async with client(ledger, "ledger-local", budget=Budget(max_tokens=10_000)) as models:
        first, second = await asyncio.gather(*(
            models.ask("worker", Answer, instructions="i", prompt=p) for p in ("p", "q")
        ))
        again = await models.ask("worker", Answer, instructions="i", prompt="p")
    assert (first.cache_hit, second.cache_hit, again.cache_hit, script.calls) == (
        False, False, True, 2
    )
    loop_thread = threading.get_ident()
    assert served["cache_get"] == served["record_call"] == {loop_thread}
    assert served["reserve_budget"] == served["begin_attempt"] == {loop_thread}
    # The two reservations were both taken before either attempt row (the sending) was written.
    assert order[:6] == ["cache_get", "cache_get", "reserve_budget", "reserve_budget",
                         "begin_attempt", "begin_attempt"]
    assert list(ledger.attempts.values()) == [(AttemptStatus.ANSWERED, 100 + 1)] * 2


async def test_a_slow_ledger_does_not_block_the_event_loop() -> None:
    register_script("ledger-slow", Counting())
    ledger = FakeLedger(delay_s=0.1)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.005)
            ticks += 1

    async with client(ledger, "ledger-slow", budget=Budget(max_tokens=10_000)) as models:
        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        reply = await models.ask("worker", Answer, instructions="i", prompt="p")
        elapsed = time.monotonic() - started
        stop.set()
        await ticking
    assert reply.ok
    # cache_get, reserve_budget, begin_attempt, record_call: at least 0.4 s in the ledger,
    # during which the ticker kept running (blocked, it would tick a handful of times at most).
    assert elapsed >= 0.4
    assert ticks >= 30


async def test_a_calls_latency_is_its_requests_not_the_ledger_writes_before_them() -> None:
    """The ledger row's latency is the provider's time: a slow attempt-row write before the
    request (0.3 s here) is the client's wait, and the run's critical path must not weigh the
    call by it."""
    register_script("ledger-latency", Counting(delay_s=0.05))
    ledger = FakeLedger(delays={"begin_attempt": 0.3})
    async with client(ledger, "ledger-latency") as models:  # no budget: a trip of its own
        started = time.monotonic()
        reply = await models.ask("worker", Answer, instructions="i", prompt="p")
        elapsed = time.monotonic() - started
    assert reply.ok and elapsed >= 0.35  # the write was waited for
    [latency] = ledger.latencies
    assert 0.05 <= latency < 0.3


async def test_the_budget_check_and_reservation_hold_while_the_ledger_is_read_off_loop() -> None:
    """Two asks at once, a budget that fits one: however slow the ledger's totals are to read,
    the second ask sees the first's reservation, so only one request is sent."""
    script = Counting(delay_s=0.05)
    register_script("ledger-budget", script)
    ledger = FakeLedger(delay_s=0.05)
    async with client(ledger, "ledger-budget", budget=Budget(max_tokens=150)) as models:
        results = await asyncio.gather(
            models.ask("worker", Answer, instructions="i", prompt="first"),
            models.ask("worker", Answer, instructions="i", prompt="second"),
            return_exceptions=True,
        )
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(refused) == 1 and script.calls == 1
    assert [c["tokens"] for c in ledger.calls] == [100]


async def test_the_budget_never_reads_totals_that_miss_a_pending_row_it_subtracts() -> None:
    """The client counts its own pending attempts by reservation. A budget check that started
    before another ask's attempt row was written must still see that ask: its reservation,
    taken atomically in the ledger, is what counts it until it is booked."""
    script = Counting(delay_s=0.05)
    register_script("ledger-stale", script)
    ledger = FakeLedger(delays={"reserve_budget": 0.3, "begin_attempt": 0.01})

    async def later(models: ModelClient) -> object:
        await asyncio.sleep(0.1)  # reads the totals while the first ask's row is not yet written
        return await models.ask("worker", Answer, instructions="i", prompt="second")

    async with client(ledger, "ledger-stale", budget=Budget(max_tokens=150)) as models:
        results = await asyncio.gather(
            models.ask("worker", Answer, instructions="i", prompt="first"),
            later(models),
            return_exceptions=True,
        )
    assert [type(r) for r in results] == [type(results[0]), BudgetExceededError]
    assert script.calls == 1


def test_the_store_serves_ledger_calls_from_worker_threads(store: Store) -> None:
    """The client calls the store from worker threads: the engine (SQLite's too) must allow
    that, and the store's write lock keeps concurrent writers apart."""
    run_id = store.create_run(name="r", agenda_digest="d", config={}).id

    async def many() -> list[int]:
        return await asyncio.gather(*(
            asyncio.to_thread(
                store.record_call, run_id=run_id, role="worker", model="scripted:x",
                input_tokens=1,
            )
            for _ in range(8)
        ))

    ids = asyncio.run(many())
    assert len(set(ids)) == 8
    assert store.run_usage(run_id).input_tokens == 8
