"""`ModelClient`: the one door to LLMs. Cache, budget, concurrency, retries, ledger."""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, ParamSpec, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from pydantic_ai import Agent, Tool, capture_run_messages
from pydantic_ai.agent import AgentRunResult
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UserError,
)
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.output import NativeOutput, ToolOutput
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import UsageLimits

from ..errors import BudgetExceededError, ModelError
from ..store import AttemptStatus, BudgetCheck, BudgetTotals, CacheRecord, Reservation
from ._config import Budget, ModelRef, ModelsConfig, Price, SamplingConfig, parse_model_id
from ._failures import (
    attempt_outcome,
    clip,
    describe,
    invalid_output,
    is_garbled,
    is_stale_cached_failure,
    is_transient,
    model_error,
)
from ._keys import cache_key as make_cache_key
from ._keys import canonical_json
from ._keys import prompt_digest as make_prompt_digest
from ._ledger import CallLedger
from ._observe import CALL_OBSERVER
from ._registry import ModelProvider, ProviderModel, get_provider, unpriced_error

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


SEED_MODULUS = 2**31
"""Sample seeds stay below it: providers take 32-bit seeds (llama.cpp's is unsigned)."""


def sample_seed(seed: int, sample: int) -> int:
    """The seed of sample `sample` of a repeated prompt under the client seed `seed`: distinct
    for distinct samples (below `SEED_MODULUS` apart), and new when the client's seed is (a
    stage re-run)."""
    if sample < 0:
        raise ValueError(f"a sample number is 0 or more, got {sample}")
    return (seed + 7_919 * (sample + 1)) % SEED_MODULUS


@dataclass(frozen=True, kw_only=True)
class Reply(Generic[T]):
    """What one `ModelClient.ask` produced, and what it cost.

    A reply whose output never validated is not an exception: `output` is None, `error` says
    why and `raw` keeps the model's last text, so the caller can record the failure.
    """

    output: T | None
    """The validated output, or None when the model never produced a valid one."""
    raw: str
    """The model's last reply text (or tool-call arguments), valid or not."""
    role: str
    """The role that asked."""
    model: str
    """The `provider:model` id that answered."""
    prompt_digest: str
    """sha256 of (instructions, prompt)."""
    cache_key: str
    """sha256 of (model, instructions, prompt, output schema, sampling, seed)."""
    input_tokens: int
    """Input tokens this ask paid for, summed over re-asks and retries (0 for a cache hit)."""
    output_tokens: int
    """Output tokens this ask paid for, summed over re-asks and retries (0 for a cache hit)."""
    cost_usd: float | None
    """What this ask cost in USD (0.0 for a cache hit or a free model); None if unpriced."""
    cache_hit: bool
    """Whether the answer came from the cache without calling the model."""
    attempts: int
    """Requests sent to the provider: re-asks and transient retries count (0 for a cache hit)."""
    error: str | None
    """Why there is no valid output, or None."""

    @property
    def ok(self) -> bool:
        """Whether the model produced a valid output."""
        return self.error is None


@dataclass(frozen=True, kw_only=True)
class CallEvent:
    """A provider call's progress, for a live display (`ModelClient(on_call=...)`).

    `waiting` comes about once a second while a request has been unanswered for longer than
    the client's `waiting_after_s`; `retry` when a transient failure is about to be retried;
    `done` when a call that was reported `waiting` has its answer (or failed).
    """

    kind: Literal["waiting", "retry", "done"]
    """What happened."""
    call: int
    """Tells concurrent calls of one client apart."""
    model: str
    """The `provider:model` id called."""
    role: str
    """The role that asked."""
    step_key: str | None
    """The pipeline step, if any."""
    attempt: int
    """Which request of the call this is, from 1 (a retry reports the one it is about to send)."""
    max_attempts: int
    """Requests the call may send at most (`models.max_retries` + 1)."""
    waited_s: float = 0.0
    """For `waiting`: seconds since this request was sent."""
    reason: str | None = None
    """For `retry`: the failure retried, e.g. `HTTP 503`, `garbled response`."""
    delay_s: float = 0.0
    """For `retry`: seconds until the retry is sent."""


CallWatcher = Callable[[CallEvent], None]
"""Receives `CallEvent`s; must return quickly (it runs on the event loop)."""


@dataclass
class _Tally:
    """Tokens, requests and attempt rows of one ask, across every re-ask and retry."""

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    attempt_ids: list[int] = field(default_factory=list)
    """The ask's `llm_attempts` rows, in the order they were sent."""
    last: AttemptStatus = AttemptStatus.LOST
    """How the last attempt ended; LOST until an outcome is known (e.g. when cancelled)."""
    reservation: Reservation | None = None
    """The ask's hold on the run's budget in the ledger, until it is booked or released."""

    def add(self, messages: list[ModelMessage], *, failed_request: bool = False) -> None:
        for message in messages:
            if isinstance(message, ModelResponse):
                self.input_tokens += message.usage.input_tokens
                self.output_tokens += message.usage.output_tokens
                self.requests += 1
        if failed_request:
            self.requests += 1


@dataclass(frozen=True, kw_only=True)
class _Request(Generic[T]):
    """One ask, resolved: who asks which model for what."""

    role: str
    ref: ModelRef
    provider: ModelProvider
    output_type: type[T]
    adapter: TypeAdapter[T]
    instructions: str
    prompt: str
    step_key: str | None
    sampling: SamplingConfig
    digest: str
    key: str
    tools: tuple[Tool[None], ...] = ()
    max_requests: int = 1
    seed: int = 0
    """The seed sent with the request and in its cache key."""


@dataclass(frozen=True)
class _Estimate:
    """What one request may use: tokens, and USD (0.0 when unpriced; `priced_usd` None)."""

    tokens: int
    usd: float
    priced_usd: float | None


@dataclass(frozen=True)
class _Outcome:
    output: Any
    raw: str
    error: str | None


class ModelClient:
    """Asks models for typed outputs on behalf of roles, for one run.

    Every call is cached in the ledger by its cache key (a repeated ask is free and identical),
    checked against the run's budget before it is made, limited per provider by a semaphore,
    retried on transient provider errors, and recorded as exactly one ledger row. Each request
    sent is also recorded as an attempt row before it is sent and finished after, so a request
    whose outcome never arrives (a killed process, a hang) still counts against the budget.

    Args:
        config: which model plays which role, and how calls are made.
        ledger: holds the ledger and the cache (the research database: a `Store`). Its
            blocking calls run in worker threads, off the event loop, unless it is `local`
            (SQLite), where they are made on the loop (`_trip`).
        run_id: the run the calls are booked to (None: calls outside any run).
        budget: limits checked before every provider call; None for none.
        seed: passed to providers that accept one; part of the cache key.
        on_call: told when a request has been waiting longer than `waiting_after_s` (then about
            once a second), when a failure is retried, and when a waiting call ends.
        waiting_after_s: seconds a request may take before `on_call` hears that it is waiting.
    """

    def __init__(
        self,
        *,
        config: ModelsConfig,
        ledger: CallLedger,
        run_id: int | None,
        budget: Budget | None = None,
        seed: int = 0,
        on_call: CallWatcher | None = None,
        waiting_after_s: float = 5.0,
    ) -> None:
        self._config = config
        self._ledger = ledger
        self._run_id = run_id
        self._budget = budget
        self._seed = seed
        self._models: dict[str, ProviderModel] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._agents: dict[tuple[Any, ...], tuple[tuple[Tool[None], ...], Agent[None, Any]]] = {}
        # A budget without a run has no ledger totals: this client's own spending and
        # reservations, in memory.
        self._reserved_tokens = 0
        self._reserved_usd = 0.0
        self._own_tokens = 0
        self._own_usd = 0.0
        self._budget_error: BudgetExceededError | None = None
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._jitter = random.Random()
        self._on_call = on_call
        self._waiting_after_s = waiting_after_s
        self._call_ids = itertools.count(1)
        # Asks started but not yet past their budget check. No request is sent while one is:
        # asks started together are all checked before any of them sends, so when one of them
        # hits the budget (and its siblings are cancelled) nothing has been paid for in vain.
        self._unchecked = 0
        self._all_checked = asyncio.Event()
        self._all_checked.set()
        # Asks begun that have neither sent their first request nor ended. Once none is left
        # and a request has gone out, the client's first wave is out (`wave_sent`).
        self._unsent = 0
        self._any_sent = False
        self._wave_sent = asyncio.Event()

    @property
    def config(self) -> ModelsConfig:
        """The configuration this client was made with."""
        return self._config

    async def wave_sent(self) -> None:
        """Return once this client has sent a request and every ask begun by then has sent its
        own or ended: its first wave is out, and the loop waits on the network. An ask has sent
        once its first request has reached the provider's SDK (the direct path's call, or the
        agent's model, `_Announced`), not when the ask hands it on. Never returns for a client
        whose asks are all answered from the cache."""
        await self._wave_sent.wait()

    def model_for(self, role: str) -> str:
        """The `provider:model` id that plays `role`."""
        return self._config.model_for(role)

    async def ask(
        self,
        role: str,
        output_type: type[T],
        *,
        instructions: str,
        prompt: str,
        step_key: str | None = None,
        sampling: SamplingConfig | None = None,
        tools: Sequence[Tool[None]] = (),
        max_requests: int = 8,
        model: str | None = None,
        sample: int | None = None,
    ) -> Reply[T]:
        """Ask the model playing `role` for an `output_type`.

        Args:
            role: the role asking; picks the model (`ModelsConfig.model_for`).
            output_type: a pydantic model (or any type pydantic validates); bound every list
                and string in it (maxItems, maxLength) so a small model cannot ramble.
            instructions: the system instructions.
            prompt: the user prompt; wrap untrusted text in it with `delimit`.
            step_key: the pipeline step, recorded in the ledger.
            sampling: overrides `ModelsConfig.sampling` for this call.
            tools: pydantic-ai tools the model may call before it answers (left out for a
                model that cannot call tools). A tool that raises `ModelRetry` tells the model
                what was wrong; the tools' names, descriptions and parameters are part of the
                cache key. A cached reply does not call the tools again.
            max_requests: model requests the ask may make while calling tools; past it the
                reply is invalid (`reply.ok` False), not an error.
            model: a `provider:model` id to ask instead of the role's (e.g. one of several
                critic-2 models); the call is still booked to `role`.
            sample: the sample number of a repeated prompt. Asks that differ only in it are
                independent samples, not one cached answer: the seed sent (and in the cache
                key) is `sample_seed(client seed, sample)`. None: the client's seed.

        Returns:
            The reply; `reply.ok` is False when the output never validated (that failure is
            cached too, and never paid for twice).

        Raises:
            ConfigError: the role's model id is malformed, unknown or lacks credentials, or a
                dollar budget is set for a model without a known price.
            BudgetExceededError: this call would take the run over its budget (checked just
                before the call, once a provider slot is free; in-flight calls count).
            ModelError: the provider failed (retryable=True when retries ran out).
        """
        model_id = model or self.model_for(role)
        field = (
            "critic2.models" if model else
            f"models.roles.{role}" if role in self._config.roles else "models.default"
        )
        ref = parse_model_id(model_id, field=field)
        provider = get_provider(ref.provider, model_id=model_id)
        sampling = sampling or self._config.sampling
        adapter, schema, schema_json = _output_adapter(output_type)
        seed = self._seed if sample is None else sample_seed(self._seed, sample)
        key = make_cache_key(
            schema_json=schema_json,
            model_id=ref.id,
            instructions=instructions,
            prompt=prompt,
            output_schema=schema,
            sampling=sampling,
            seed=seed,
            tools=[
                {
                    "name": t.tool_def.name,
                    "description": t.tool_def.description,
                    "parameters": t.tool_def.parameters_json_schema,
                }
                for t in tools
            ],
        )
        request = _Request(
            role=role,
            ref=ref,
            provider=provider,
            output_type=output_type,
            adapter=adapter,
            instructions=instructions,
            prompt=prompt,
            step_key=step_key,
            sampling=sampling,
            digest=make_prompt_digest(instructions, prompt),
            key=key,
            tools=tuple(tools),
            max_requests=max_requests,
            seed=seed,
        )
        observer = CALL_OBSERVER.get()  # the runtime records what this call waited on
        token = observer.issued(step_key) if observer is not None else None
        # An identical ask already in flight is waited for, then served from the cache.
        while (pending := self._in_flight.get(key)) is not None:
            await asyncio.shield(pending)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = done
        try:
            return await self._ask(request)
        finally:
            del self._in_flight[key]
            done.set_result(None)
            if observer is not None:
                observer.finished(token)

    async def _ask(self, req: _Request[T]) -> Reply[T]:
        self._unchecked += 1
        self._all_checked.clear()
        self._unsent += 1
        checking, unsent = [True], [True]
        try:
            return await self._ask_counted(req, checking, unsent)
        finally:
            self._checked(checking)
            self._sending(unsent, sent=False)

    def _checked(self, checking: list[bool]) -> None:
        """This ask no longer holds back the others' requests (idempotent)."""
        if checking[0]:
            checking[0] = False
            self._unchecked -= 1
            if self._unchecked == 0:
                self._all_checked.set()

    def _sending(self, unsent: list[bool], *, sent: bool) -> None:
        """This ask sends its first request now (`sent`), or ended without (idempotent)."""
        if unsent[0]:
            unsent[0] = False
            self._unsent -= 1
            self._any_sent = self._any_sent or sent
            if self._unsent == 0 and self._any_sent:
                self._wave_sent.set()

    async def _ask_counted(
        self, req: _Request[T], checking: list[bool], unsent: list[bool]
    ) -> Reply[T]:
        # One trip to the ledger: the lookup and, on a hit, its ledger row (`_trip`).
        cached = await self._trip(self._from_cache, req)
        if cached is not None:
            return cached
        if self._ledger.local:
            # Its trips are made on the loop, so nothing else would yield before it sends: one
            # turn of the loop lets the asks started with it begin (and count as unchecked and
            # unsent), so the budget barrier and the first wave hold them all.
            await asyncio.sleep(0)

        model = self._model(req.ref, req.provider)
        price = req.provider.price(req.ref.name, self._config.provider_config(req.ref.provider))
        semaphore = self._semaphore(req.ref.provider, req.provider)
        if semaphore.locked():
            # It waits its turn: the asks holding a slot go on, and are the wave on the network.
            self._checked(checking)
            self._sending(unsent, sent=False)
        async with semaphore:
            estimate = _estimate(req, price)
            tally = _Tally()
            # The check takes the reservation atomically (in the ledger for a run): until this
            # ask is booked, the reservation is what counts it, and its pending attempts.
            # When no other ask is waiting for its check, the attempt row is written in the
            # reservation's trip to the ledger (as it would be right after it).
            def alone() -> bool:
                return self._unchecked == (1 if checking[0] else 0)

            in_memory = await self._reserve(req, price, estimate, tally, begin_if=alone)
            started = time.monotonic()
            self._checked(checking)
            try:
                try:
                    while not self._all_checked.is_set():
                        await self._all_checked.wait()
                    if not tally.attempt_ids:
                        await self._begin_attempt(req, estimate, tally)
                    if model.prepare is not None:
                        await model.prepare()
                    # The call's latency starts with its first request: the waits above (the
                    # siblings' checks, the attempt row's write, a model's load) are this
                    # client's, not the provider's, and a run's critical path must not count
                    # them as the provider's time (`Store.critical_path`).
                    started = time.monotonic()
                    sent = functools.partial(self._sending, unsent, sent=True)
                    outcome = await self._run(req, model, tally, estimate, sent=sent)
                except ModelError as exc:
                    await self._book(req, price, tally, started, error=str(exc))
                    raise
                except BaseException as exc:  # cancelled, or a bug: book what was already spent
                    error = f"interrupted: {type(exc).__name__}"
                    if tally.requests:
                        await self._book(req, price, tally, started, error=error)
                    elif tally.attempt_ids:
                        await self._finish_attempt(tally, AttemptStatus.LOST, error)
                    raise
                answer = CacheRecord(
                    key=req.key,
                    model=req.ref.id,
                    request={
                        "instructions": req.instructions,
                        "prompt": req.prompt,
                        "sampling": req.sampling.model_dump(mode="json"),
                        "seed": req.seed,
                    },
                    raw=outcome.raw,
                    output=(
                        None
                        if outcome.error
                        else req.adapter.dump_python(outcome.output, mode="json")
                    ),
                    error=outcome.error,
                    input_tokens=tally.input_tokens,
                    output_tokens=tally.output_tokens,
                )
                cost = await self._book(
                    req, price, tally, started, error=outcome.error, answer=answer
                )
            finally:
                # Released only once the ask is booked (the booking gives the ledger's
                # reservation back in its transaction): until then it counts this ask.
                if in_memory:
                    self._reserved_tokens -= estimate.tokens
                    self._reserved_usd -= estimate.usd
                if tally.reservation is not None and self._run_id is not None:
                    await self._trip(self._ledger.release_budget, self._run_id,
                                     tally.reservation)
                    tally.reservation = None
        return Reply(
            output=None if outcome.error else outcome.output,
            raw=outcome.raw,
            role=req.role,
            model=req.ref.id,
            prompt_digest=req.digest,
            cache_key=req.key,
            input_tokens=tally.input_tokens,
            output_tokens=tally.output_tokens,
            cost_usd=cost,
            cache_hit=False,
            attempts=tally.requests,
            error=outcome.error,
        )

    # -- trips to the ledger ------------------------------------------------------------------

    async def _trip(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """One trip to the ledger. On a local ledger (SQLite) it is made here, on the event
        loop: a read or a row is a file operation of a fraction of a millisecond, less than the
        hop to a worker thread and back under a burst of asks, with the interpreter lock
        changing hands (docs/scaling.md). A server's round trips go to a worker thread, so the
        loop keeps serving the other asks while the database answers."""
        if self._ledger.local:
            return fn(*args, **kwargs)
        call = functools.partial(fn, *args, **kwargs)
        return await _settled(asyncio.get_running_loop().run_in_executor(None, call))

    def _before_sending(self, call: Callable[[], R]) -> asyncio.Future[R]:
        """A trip made before the ask sends (its reservation, an attempt row), as a future the
        caller awaits and then inspects even when cancelled meanwhile (was the reservation
        taken, the row written?). Where `_trip` would make it on the loop, it is made now and
        the future is born done."""
        loop = asyncio.get_running_loop()
        if not self._ledger.local:
            return loop.run_in_executor(None, call)
        made: asyncio.Future[R] = loop.create_future()
        try:
            made.set_result(call())
        except Exception as exc:  # raised where the future is awaited, as from a thread
            made.set_exception(exc)
        return made

    async def aclose(self) -> None:
        """Release provider connections. The embedded model stays loaded for the process."""
        models, self._models = self._models, {}
        for model in models.values():
            if model.close is not None:
                await model.close()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- the steps of an ask -----------------------------------------------------------------

    def _from_cache(self, req: _Request[T]) -> Reply[T] | None:
        """The cached reply, its ledger row written; None on a miss. Blocking: one trip to the
        ledger (`_trip`)."""
        entry = self._ledger.cache_get(req.key)
        if entry is None:
            return None
        if entry.error is not None and is_stale_cached_failure(entry.error):
            # An older version cached a garbled response as a failed reply; ask again.
            self._ledger.cache_drop(req.key, error=entry.error)
            return None
        output: T | None = None
        if entry.error is None:
            try:
                output = req.adapter.validate_python(entry.output)
            except ValidationError:
                return None  # the type's validators changed under the same schema: ask again
        self._ledger.record_call(
            run_id=self._run_id,
            role=req.role,
            model=req.ref.id,
            step_key=req.step_key,
            cache_key=req.key,
            cost_usd=0.0,
            cache_hit=True,
            attempts=0,
            error=entry.error,
        )
        return Reply(
            output=output,
            raw=entry.raw,
            role=req.role,
            model=req.ref.id,
            prompt_digest=req.digest,
            cache_key=req.key,
            input_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
            cache_hit=True,
            attempts=0,
            error=entry.error,
        )

    def _model(self, ref: ModelRef, provider: ModelProvider) -> ProviderModel:
        model = self._models.get(ref.id)
        if model is None:
            provider_config = self._config.provider_config(ref.provider)
            provider.check(ref.name, provider_config)
            model = provider.build(ref.name, provider_config, seed=self._seed)
            self._models[ref.id] = model
        return model

    def _semaphore(self, name: str, provider: ModelProvider) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(name)
        if semaphore is None:
            provider_config = self._config.provider_config(name)
            if "concurrency" in provider_config.model_fields_set:
                size = provider_config.concurrency
            else:
                size = provider.default_concurrency
            semaphore = self._semaphores[name] = asyncio.Semaphore(size)
        return semaphore

    async def _reserve(
        self,
        req: _Request[T],
        price: Price | None,
        estimate: _Estimate,
        tally: _Tally,
        *,
        begin_if: Callable[[], bool] | None = None,
    ) -> bool:
        """Raise if this call could take the run over budget; else hold its estimate.

        For a run the hold is a reservation in the ledger (`tally.reservation`), taken by one
        atomic check against the run's running totals, so concurrent asks of any client or
        process never overshoot together; without a run it is held in memory (return True).

        Once the budget has been hit, every later paid call is refused too: a run that ran out
        stops, rather than squeezing in smaller calls. Requests that may have been billed with
        no known outcome (attempts left pending by a killed process, or lost) count at their
        estimate.

        With `begin_if`, the ask's first attempt row is written in the same trip to the ledger
        once the reservation is granted, if `begin_if()` still says so then (read where the trip
        is made: no other ask of this client is waiting for its check).
        """
        budget = self._budget
        if budget is None:
            return False
        if self._budget_error is not None:
            raise BudgetExceededError(str(self._budget_error))
        if budget.max_usd is not None and price is None:
            raise unpriced_error(req.ref.id)
        if self._run_id is None:
            used_tokens = self._own_tokens + self._reserved_tokens
            used_usd = self._own_usd + self._reserved_usd
            self._refuse_over(req, budget, estimate, used_tokens, used_usd)
            self._reserved_tokens += estimate.tokens
            self._reserved_usd += estimate.usd
            return True
        reservation = Reservation(tokens=estimate.tokens, usd=estimate.usd)
        run_id = self._run_id
        ledger = self._ledger
        begin = self._attempt_row(req, estimate, reserved=True)

        def reserve() -> tuple[BudgetCheck, int | None]:
            checked = ledger.reserve_budget(
                run_id, reservation, max_tokens=budget.max_tokens, max_usd=budget.max_usd
            )
            attempt_id: int | None = None
            if checked.granted and begin_if is not None and begin_if():
                try:
                    attempt_id = begin()
                except Exception:  # written again (and its error raised) by `_begin_attempt`
                    attempt_id = None
            return checked, attempt_id

        check = self._before_sending(reserve)
        try:
            result, _ = await _settled(check)
        finally:
            # Also when cancelled meanwhile: a reservation taken must be given back, and an
            # attempt row written must be known.
            done = check.done() and not check.cancelled() and check.exception() is None
            if done and check.result()[0].granted:
                tally.reservation = reservation
            if done and (attempt_id := check.result()[1]) is not None:
                tally.attempt_ids.append(attempt_id)
                tally.last = AttemptStatus.LOST
        if not result.granted:
            totals: BudgetTotals = result.totals
            self._refuse_over(req, budget, estimate, totals.used_tokens, totals.used_usd)
            # Refused by the ledger, yet within the limits by this reading (USD summed in
            # another order can differ in the last bit): refused all the same.
            self._budget_error = BudgetExceededError(
                f"budget exceeded: {totals.used_tokens} tokens and ${totals.used_usd:.4f} used "
                f"(or in flight) + about {estimate.tokens} tokens (${estimate.usd:.4f}) for the "
                f"next {req.ref.id} call reach the run's limits; raise its budget to continue"
            )
            raise self._budget_error
        return False

    def _refuse_over(
        self,
        req: _Request[T],
        budget: Budget,
        estimate: _Estimate,
        used_tokens: int,
        used_usd: float,
    ) -> None:
        """Raise (and remember) the budget error if the estimate does not fit on top of what
        is used or in flight."""
        ref = req.ref
        if budget.max_tokens is not None and used_tokens + estimate.tokens > budget.max_tokens:
            self._budget_error = BudgetExceededError(
                f"token budget exceeded: {used_tokens} tokens used (or in flight) + about "
                f"{estimate.tokens} for the next {ref.id} call > limit {budget.max_tokens}; "
                f"raise the run's max_tokens budget to continue"
            )
            raise self._budget_error
        if budget.max_usd is not None and used_usd + estimate.usd > budget.max_usd:
            self._budget_error = BudgetExceededError(
                f"dollar budget exceeded: ${used_usd:.4f} used (or in flight) + about "
                f"${estimate.usd:.4f} for the next {ref.id} call > limit ${budget.max_usd:.4f}; "
                f"raise the run's max_usd budget to continue"
            )
            raise self._budget_error

    def _attempt_row(
        self, req: _Request[T], estimate: _Estimate, *, reserved: bool
    ) -> Callable[[], int]:
        """The ledger write of the ask's next attempt row, to make in a trip before sending."""
        return functools.partial(
            self._ledger.begin_attempt,
            run_id=self._run_id,
            role=req.role,
            model=req.ref.id,
            step_key=req.step_key,
            cache_key=req.key,
            est_tokens=estimate.tokens,
            est_cost_usd=estimate.priced_usd,
            reserved=reserved,
        )

    async def _begin_attempt(self, req: _Request[T], estimate: _Estimate, tally: _Tally) -> None:
        """Record the next request before it is sent."""
        write = self._before_sending(
            self._attempt_row(req, estimate, reserved=tally.reservation is not None)
        )
        try:
            await _settled(write)
        finally:
            # Also when cancelled meanwhile: the row exists, so the ask must know it.
            if write.done() and not write.cancelled() and write.exception() is None:
                tally.attempt_ids.append(write.result())
                tally.last = AttemptStatus.LOST

    async def _finish_attempt(
        self, tally: _Tally, status: AttemptStatus, error: str | None
    ) -> None:
        """Record the outcome of the ask's last request, when no ledger row follows at once."""
        await self._trip(
            self._ledger.finish_attempt,
            tally.attempt_ids[-1],
            status,
            error=error,
            reserved=tally.reservation is not None,
        )

    def _agent(self, req: _Request[T], model: ProviderModel) -> Agent[None, Any]:
        """The agent for this model, output type and tools: built once, then reused.

        An agent holds no per-run state (instructions, settings and limits are passed to each
        run), so concurrent asks share one; building one compiles its output schema, which
        used to cost more than the rest of an ask.
        """
        tools = req.tools if model.tools else ()
        try:
            key: tuple[Any, ...] | None = (
                req.ref.id, req.output_type, model.output_mode, tuple(id(t) for t in tools)
            )
            hash(key)
        except TypeError:  # an unhashable output type (e.g. Annotated with a dict): not cached
            key = None
        cached = self._agents.get(key) if key is not None else None
        if cached is not None:
            return cached[1]
        marker: NativeOutput[Any] | ToolOutput[Any] = (
            NativeOutput(req.output_type)
            if model.output_mode == "native"
            else ToolOutput(req.output_type)
        )
        agent: Agent[None, Any] = Agent(
            _Announced(model.model),
            output_type=marker,
            retries={"output": self._config.output_retries},
            tools=list(tools),
        )
        if key is not None:
            if len(self._agents) >= _AGENT_CACHE_SIZE:
                del self._agents[next(iter(self._agents))]  # the oldest
            # The tools are kept with the agent, so the ids in the key stay theirs.
            self._agents[key] = (tools, agent)
        return agent

    async def _run(
        self,
        req: _Request[T],
        model: ProviderModel,
        tally: _Tally,
        estimate: _Estimate,
        *,
        sent: Callable[[], None],
    ) -> _Outcome:
        """Run the agent, retrying transient provider errors; invalid output is an outcome.

        `sent()` is called as the ask's first request goes to the provider's SDK: by the
        direct path as it starts, by an agent's model as the agent's request reaches it (a few
        turns of the loop after the agent run starts, `_Announced`)."""
        ref, provider, sampling = req.ref, req.provider, req.sampling
        direct = model.direct if not req.tools else None
        if direct is not None and not direct.accepts(req.output_type, req.instructions, req.prompt):
            direct = None
        # The direct path sends the same request through the SDK, without an agent.
        agent = self._agent(req, model) if direct is None else None
        # Without tools an ask is one request (plus output retries); with tools the model may
        # take several turns, up to the ask's own bound.
        limits = UsageLimits(request_limit=req.max_requests + self._config.output_retries) if (
            req.tools and model.tools
        ) else None
        settings: ModelSettings = {
            "temperature": sampling.temperature,
            "max_tokens": sampling.max_tokens,
            "seed": req.seed,
        }
        if sampling.top_p is not None:
            settings["top_p"] = sampling.top_p
        # Only OpenAI-style requests (native JSON-schema output) carry server-specific fields.
        if sampling.extra and model.output_mode == "native":
            settings["extra_body"] = dict(sampling.extra)
        call = next(self._call_ids)
        retry = 0
        while True:
            if retry:
                await self._begin_attempt(req, estimate, tally)
            captured: AbstractContextManager[list[ModelMessage]] = (
                nullcontext([]) if agent is None else capture_run_messages()
            )
            with captured as messages:
                try:
                    # A task of its own: Python 3.11's TaskGroup can leave the caller's
                    # cancellation count raised after a sibling failed, and pydantic-ai reads any
                    # such count as a cancelled run. A real cancellation still reaches the child.
                    if agent is None:
                        assert direct is not None
                        sent()
                        work: Awaitable[Any] = direct.run(
                            req.output_type,
                            instructions=req.instructions,
                            prompt=req.prompt,
                            sampling=sampling,
                            seed=req.seed,
                            output_retries=self._config.output_retries,
                            messages=messages,
                        )
                    else:
                        work = _output_of(
                            agent.run(
                                req.prompt,
                                instructions=req.instructions,
                                model_settings=settings,
                                usage_limits=limits,
                            )
                        )
                    if self._on_call is None and agent is None:
                        output = await work
                    else:
                        # The task copies the context: the agent's model finds `sent` there.
                        announce = _ON_REQUEST.set(sent)
                        try:
                            task = asyncio.ensure_future(work)
                        finally:
                            _ON_REQUEST.reset(announce)
                        output = await self._watch(task, req, call=call, attempt=retry + 1)
                except Exception as exc:
                    # A garbled response is checked first: pydantic-ai reports some as
                    # `UnexpectedModelBehavior`, the same type as output that never validated.
                    garbled = is_garbled(exc)
                    if isinstance(exc, UsageLimitExceeded):
                        tally.add(messages)
                        tally.last = AttemptStatus.ANSWERED
                        return _Outcome(
                            None, _last_raw(messages),
                            f"no answer within {req.max_requests} model requests of tool calls: "
                            f"{clip(str(exc))}",
                        )
                    if isinstance(exc, UnexpectedModelBehavior) and not garbled:
                        tally.add(messages)
                        tally.last = AttemptStatus.ANSWERED
                        return _Outcome(None, _last_raw(messages), invalid_output(exc, sampling))
                    if not garbled and not isinstance(
                        exc, ModelAPIError | TimeoutError | ConnectionError
                    ):
                        tally.add(messages)
                        tally.last = AttemptStatus.FAILED
                        if isinstance(exc, AgentRunError | UserError):
                            raise ModelError(
                                f"{ref.id}: the call failed: {clip(str(exc))}",
                                provider=ref.provider,
                                model=ref.id,
                            ) from exc
                        raise  # a bug: keeps its traceback; the attempt is booked as failed
                    tally.add(messages, failed_request=True)
                    tally.last = attempt_outcome(exc)
                    if not is_transient(exc):
                        raise model_error(ref, provider, self._config, exc) from exc
                    if retry >= self._config.max_retries:
                        raise model_error(
                            ref, provider, self._config, exc, gave_up_after=tally.requests
                        ) from exc
                    await self._finish_attempt(
                        tally, tally.last, clip(f"{describe(exc)}: {exc}")
                    )
                    delay = self._backoff(retry, exc)
                    self._report(
                        "retry", req, call=call, attempt=retry + 2, reason=describe(exc),
                        delay_s=delay,
                    )
                    await asyncio.sleep(delay)
                    retry += 1
                    continue
                except BaseException:
                    tally.add(messages)  # cancelled: what was already answered is still paid
                    raise
            tally.add(messages)
            tally.last = AttemptStatus.ANSWERED
            return _Outcome(output, _last_raw(messages), None)

    async def _watch(
        self,
        task: asyncio.Future[Any],
        req: _Request[T],
        *,
        call: int,
        attempt: int,
    ) -> Any:
        """Await the request's task; while it waits past `waiting_after_s`, tell `on_call`."""
        if self._on_call is None:
            return await task
        sent = time.monotonic()
        timeout = self._waiting_after_s
        waited = False
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=timeout)
                if done:
                    break
                waited = True
                self._report(
                    "waiting", req, call=call, attempt=attempt,
                    waited_s=time.monotonic() - sent,
                )
                timeout = 1.0
        except BaseException:
            task.cancel()  # cancelled while waiting: the request is cancelled with it
            raise
        finally:
            if waited:
                self._report("done", req, call=call, attempt=attempt)
        return task.result()

    def _report(
        self,
        kind: Literal["waiting", "retry", "done"],
        req: _Request[T],
        *,
        call: int,
        attempt: int,
        waited_s: float = 0.0,
        reason: str | None = None,
        delay_s: float = 0.0,
    ) -> None:
        if self._on_call is None:
            return
        self._on_call(
            CallEvent(
                kind=kind,
                call=call,
                model=req.ref.id,
                role=req.role,
                step_key=req.step_key,
                attempt=attempt,
                max_attempts=self._config.max_retries + 1,
                waited_s=waited_s,
                reason=reason,
                delay_s=delay_s,
            )
        )

    def _backoff(self, retry: int, exc: BaseException) -> float:
        """Capped exponential delay with jitter; a provider's Retry-After counts, up to the cap."""
        cap = self._config.backoff_max_s
        delay = min(cap, self._config.backoff_base_s * 2.0**retry)
        delay *= self._jitter.uniform(0.5, 1.0)
        retry_after = exc.retry_after if isinstance(exc, ModelAPIError) else None
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(retry_after, cap))
        return delay

    async def _book(
        self,
        req: _Request[T],
        price: Price | None,
        tally: _Tally,
        started: float,
        *,
        error: str | None,
        answer: CacheRecord | None = None,
    ) -> float | None:
        """Write the ledger row of a call that reached the provider (and, atomically with it,
        the answer into the cache and the outcome of its last attempt); return its cost."""
        cost = price.cost(tally.input_tokens, tally.output_tokens) if price is not None else None
        async def write() -> None:
            latency = time.monotonic() - started
            self._own_tokens += tally.input_tokens + tally.output_tokens
            self._own_usd += cost or 0.0
            await self._trip(
                self._ledger.record_call,
                run_id=self._run_id,
                role=req.role,
                model=req.ref.id,
                step_key=req.step_key,
                cache_key=req.key,
                input_tokens=tally.input_tokens,
                output_tokens=tally.output_tokens,
                latency_s=latency,
                cost_usd=cost,
                cache_hit=False,
                attempts=tally.requests,
                error=error,
                answer=answer,
                attempt_ids=list(tally.attempt_ids),
                last_attempt=tally.last,
                reservation=tally.reservation,
            )
            tally.reservation = None  # given back in the ledger row's transaction

        # Carried through even if the ask is cancelled meanwhile: an answer that was paid for
        # must reach the ledger and the cache.
        await _settled(write())
        return cost


_AGENT_CACHE_SIZE = 256
"""Agents a client keeps (one per model, output type and tool set); the oldest goes first."""

_ON_REQUEST: ContextVar[Callable[[], None] | None] = ContextVar(
    "autoalign_on_request", default=None
)
"""What an agent's model calls as a request reaches it: the ask's `sent` (`ModelClient._run`)."""


class _Announced(WrapperModel):
    """The model an agent drives, calling the running ask's `_ON_REQUEST` as each request
    reaches it, then sending it as the wrapped model would. An agent run takes a few turns of
    the loop to get there; the ask counts as sent (and a run's first wave as out, `wave_sent`)
    only then."""

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        announce = _ON_REQUEST.get()
        if announce is not None:
            announce()
        return await super().request(messages, model_settings, model_request_parameters)


@functools.lru_cache(maxsize=512)
def _cached_adapter(output_type: Any) -> tuple[TypeAdapter[Any], dict[str, Any], str]:
    adapter: TypeAdapter[Any] = TypeAdapter(output_type)
    schema = adapter.json_schema()
    return adapter, schema, canonical_json(schema)


def _output_adapter(output_type: type[T]) -> tuple[TypeAdapter[T], dict[str, Any], str | None]:
    """The output type's adapter, JSON schema and the schema's canonical JSON (for the cache
    key), built once per (hashable) type: building them compiles the type's validator and walks
    its schema, each time the same. The schema is shared: read it, never change it."""
    try:
        return _cached_adapter(cast(Hashable, output_type))
    except TypeError:  # unhashable (e.g. Annotated with a dict): built per ask
        adapter: TypeAdapter[T] = TypeAdapter(output_type)
        return adapter, adapter.json_schema(), None


def _estimate(req: _Request[T], price: Price | None) -> _Estimate:
    """What one request of the ask may use: its prompt at about 4 characters a token, plus
    every output token it may be given."""
    est_input = (len(req.instructions) + len(req.prompt)) // 4 + 1
    max_tokens = req.sampling.max_tokens
    est_usd = price.cost(est_input, max_tokens) if price is not None else None
    return _Estimate(tokens=est_input + max_tokens, usd=est_usd or 0.0, priced_usd=est_usd)


async def _output_of(run: Awaitable[AgentRunResult[Any]]) -> Any:
    """The output of an agent run."""
    return (await run).output


async def _settled(task: Awaitable[R]) -> R:
    """Await a ledger call to its end even if the caller is cancelled meanwhile, then re-raise
    the cancellation: a database write cannot be taken back halfway, and what the client does
    next (booking what was spent) must see it done, as when the call blocked the loop."""
    future = asyncio.ensure_future(task)
    cancelled: asyncio.CancelledError | None = None
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError as exc:
            if future.cancelled():
                raise
            cancelled = exc
    if cancelled is not None:
        raise cancelled
    return future.result()


def _last_raw(messages: list[ModelMessage]) -> str:
    """The text (or output tool-call arguments) of the last model response."""
    for message in reversed(messages):
        if isinstance(message, ModelResponse):
            pieces: list[str] = []
            for part in message.parts:
                if isinstance(part, TextPart):
                    pieces.append(part.content)
                elif isinstance(part, ToolCallPart):
                    pieces.append(part.args_as_json_str())
            return "\n".join(pieces)
    return ""
