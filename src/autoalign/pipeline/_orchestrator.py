"""Run an agenda's registered stages in order; start, resume, re-run one stage, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..agenda import Agenda
from ..errors import BackendError, BudgetExceededError, ConfigError, ModelError, WorkError
from ..experiments import QueueBackend
from ..models import ModelClient, check_models, warm_models
from ..runtime import (
    Hooks,
    NothingToDoError,
    NullProgress,
    ProgressSink,
    StageContext,
    StageSpec,
    StepFailedError,
    get_stage,
    registered_stages,
    run_stage,
)
from ..sandbox import Backend, isolation_level, make_backend
from ..store import RunRecord, Store, UsageTotals
from ..vocabulary import Kind, Role, RunStatus, Stage, UpdateKind
from . import crosscheck, execute, propose, writeup  # noqa: F401  (importing registers them)
from ._catalog import check_catalogs

ROLES: tuple[Role, ...] = tuple(Role)
"""Every role this pipeline asks; each must resolve to a usable model before a run starts."""

STAGES: tuple[Stage, ...] = tuple(spec.name for spec in registered_stages())
"""The registered stages, in run order."""

ROUND_SEED_STRIDE = 1_000_003
"""Round n of a stage re-run samples with seed `run.seed + n * stride`: a new sample, not a
replay of the cached answers, and far from the seeds of the agenda's later runs (seed + k)."""

_ROUND_MARK = re.compile(r"^\[stage (?P<stage>[a-z_]+) round (?P<round>\d+)\] ")


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """What a run did, for the end-of-run report."""

    run: RunRecord
    resumed: bool
    """This invocation continued an unfinished run."""
    already_completed: bool
    """Nothing was run: the agenda's latest run had completed (use `new=True` for another)."""
    artifacts_per_stage: dict[str, int]
    usage: UsageTotals
    wall_s: float
    """Seconds this invocation took."""
    paper_id: int | None
    paper_status: str | None
    stage_round: int | None = None
    """For a one-stage re-run (`stage=`), the round it ran (1 for the first re-run)."""


def _summary(
    store: Store, run_id: int, *, resumed: bool, done: bool, started: float,
    stage_round: int | None = None,
) -> RunSummary:
    artifacts = store.artifacts(run_id=run_id)
    papers = [a for a in artifacts if a.kind == Kind.PAPER]
    counts = Counter(a.stage for a in artifacts)
    return RunSummary(
        run=store.get_run(run_id),
        resumed=resumed,
        already_completed=done,
        artifacts_per_stage={stage: counts.get(stage, 0) for stage in STAGES},
        usage=store.run_usage(run_id),
        wall_s=time.monotonic() - started,
        paper_id=papers[-1].id if papers else None,
        paper_status=papers[-1].status if papers else None,
        stage_round=stage_round,
    )


def _rounds(store: Store, run_id: int, name: Stage) -> int:
    """The highest re-run round of stage `name` in the run (0: only the run's own steps)."""
    found = [0]
    for a in store.artifacts(run_id=run_id, stage=name):
        base, sep, n = (a.step_key or "").rpartition("@")
        if sep and base and n.isdigit():
            found.append(int(n))
    return max(found)


def _stage_round(store: Store, run: RunRecord, name: Stage) -> int:
    """Which round a `--stage name` invocation runs: the unfinished one it resumes, or a new one.

    Raises:
        ConfigError: the run is unfinished for another reason (resume it first).
    """
    if run.status == RunStatus.COMPLETED:
        return _rounds(store, run.id, name) + 1
    mark = _ROUND_MARK.match(run.stop_reason or "")
    if mark is not None and mark["stage"] == name:
        return int(mark["round"])
    raise ConfigError(
        f"run {run.id} of this agenda is {run.status}, not completed; run the agenda without "
        "--stage to resume it first"
    )


def _first_round(store: Store, run_id: int, specs: Sequence[StageSpec[object]]) -> int:
    """The round a resumed multi-round run starts at: the highest one any stage has begun
    (rounds run in order, so every earlier one completed)."""
    return max((_rounds(store, run_id, spec.name) for spec in specs), default=0)


async def _run_stages(
    ctx: StageContext, specs: Sequence[StageSpec[object]], *, mark: str = "",
    rounds: int = 1, round_context: Callable[[int], StageContext] | None = None,
) -> None:
    """Run `specs` in order and record how the run ended; the one home of the run lifecycle.

    With `rounds` > 1 the stages run again as rounds 1 .. rounds-1 (`--rounds`), each with the
    context `round_context(n)` gives (step keys `@n`, its own sampling seed), stage 4 of one
    round feeding stage 1 of the next through the store; a resumed run starts at the highest
    round it had begun, its finished steps resumed from the store."""
    store, run = ctx.store, ctx.run
    current = ctx
    _settle_heap("start")
    try:
        first = _first_round(store, run.id, specs) if rounds > 1 else 0
        for n in range(first, rounds):
            if n:
                if round_context is None:
                    raise ConfigError("a run of several rounds needs a context per round")
                await current.client.aclose()
                current = round_context(n)
                mark = f"[round {n} of {rounds}] "
            for spec in specs:
                await run_stage(current, spec)
    except (BudgetExceededError, StepFailedError, NothingToDoError) as exc:
        store.set_run_status(run.id, RunStatus.STOPPED, reason=mark + str(exc))
    except (ModelError, BackendError, WorkError) as exc:  # WorkError: a queued job failed
        store.set_run_status(run.id, RunStatus.FAILED, reason=mark + str(exc))
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.set_run_status(
            run.id, RunStatus.STOPPED, reason=mark + "interrupted; run again to resume"
        )
        raise
    except Exception as exc:  # a bug: record it on the run, keep the traceback for the user
        store.set_run_status(
            run.id, RunStatus.FAILED,
            reason=(mark + f"internal error {type(exc).__name__}: {exc}")[:2000],
        )
        raise
    else:
        store.set_run_status(run.id, RunStatus.COMPLETED)
    finally:
        await current.client.aclose()


async def run_agenda(
    agenda: Agenda,
    *,
    store: Store,
    progress: ProgressSink | None = None,
    new: bool = False,
    takeover: bool = False,
    stage: str | None = None,
    hooks: Hooks | None = None,
    run_id: int | None = None,
    lease: int | None = None,
    rounds: int = 1,
) -> RunSummary:
    """Run an agenda through every registered stage, resuming its unfinished run if there is one.

    Model configuration is checked before anything is written. A budget stop, a step that stays
    invalid under `on_failure = "stop"`, or a stage left with no input ends the run with status
    `stopped` and the reason; a provider failure, or a sandbox job the backend lost, ends it
    `failed`. Both are recorded, never lost. The run's sandboxed experiments go through one
    backend made from the agenda's `[sandbox]` section before anything is written, and closed
    when this call ends.

    Args:
        agenda: the validated agenda.
        store: the research database.
        progress: where to report steps as they finish.
        new: start a fresh run (with a new sampling seed) even if one exists for this agenda.
        takeover: resume the run even if a process on another host is recorded as executing it.
        stage: re-run only this stage of the agenda's latest (completed) run, as a new round
            read from what the store holds; an interrupted re-run resumes its round.
        hooks: pre- and post-step hooks applied to every step.
        run_id: run (or resume) this run of the agenda, as queued by `Store.submit_run`,
            instead of the agenda's latest one; a completed run is reported, not run.
        lease: the work item whose lease this process holds for `run_id` (an `autoalign
            worker`): the run is owned through that lease (see `Store.claim_run`).
        rounds: run every stage this many times, stage 4 of each round feeding stage 1 of the
            next (round n's step keys end in `@n`); an interrupted run resumes when run again
            with the same `rounds`.

    Raises:
        ConfigError: a role's model cannot be used, a dollar budget is set for a model whose
            price is unknown, a topic names a testbed or question that does not exist, the
            sandbox backend cannot be made (all checked before anything is written), or `stage`
            is unknown or names a stage of a run that has not completed, or `rounds` is below 1
            or given with `stage`.
        RunBusyError: another live process executes this agenda's unfinished run.
    """
    started = time.monotonic()
    sink = progress or NullProgress()
    if rounds < 1 or (rounds > 1 and stage is not None):
        raise ConfigError(
            f"rounds must be at least 1 (got {rounds}) and cannot be combined with --stage"
        )
    check_models(agenda.models, ROLES, budget=agenda.budget)
    for model in agenda.critic2.models:  # critic #2's instances may ask other models too
        check_models(agenda.models.model_copy(update={"roles": {Role.CRITIC_2.value: model}}),
                     [Role.CRITIC_2.value], budget=agenda.budget)
    for role, model in _fine_tuned_models(store):  # registered for a critic (part JW)
        check_models(agenda.models.model_copy(update={"roles": {role: model}}), [role],
                     budget=agenda.budget)
    # The SDKs are imported in a thread while the catalogs are checked and the run is started;
    # the stages start once it is done (an import racing the first steps for the GIL made the
    # first call later, not sooner).
    warming = asyncio.ensure_future(asyncio.to_thread(warm_models, agenda.models, ROLES))
    backend: Backend | None = None
    try:
        check_catalogs(agenda)
        box = agenda.sandbox
        if box.backend != "queue":  # the queue's backend is keyed to the run, made with it
            backend = make_backend(box.backend, workers=box.workers, ray_address=box.ray_address)
        if stage is not None:
            await warming
            return await _rerun_stage(
                agenda, store=store, progress=sink, stage=stage, takeover=takeover,
                hooks=hooks or Hooks(), started=started, backend=backend,
            )
        if run_id is not None:
            await warming
            return await _run_queued(
                agenda, store=store, progress=sink, run_id=run_id, lease=lease,
                takeover=takeover, hooks=hooks or Hooks(), started=started, backend=backend,
            )
        return await _run_agenda(
            agenda, store=store, sink=sink, new=new, takeover=takeover, hooks=hooks or Hooks(),
            started=started, warming=warming, backend=backend, rounds=rounds,
        )
    finally:
        if not warming.done():
            await asyncio.gather(warming, return_exceptions=True)
        if backend is not None:
            backend.close()


async def _run_agenda(
    agenda: Agenda, *, store: Store, sink: ProgressSink, new: bool, takeover: bool,
    hooks: Hooks, started: float, warming: asyncio.Future[None], backend: Backend | None,
    rounds: int = 1,
) -> RunSummary:
    start = store.start_run(
        name=agenda.run.name,
        agenda_digest=agenda.digest(),
        config=agenda.model_dump(mode="json"),
        seed=agenda.run.seed,
        budget_tokens=agenda.budget.max_tokens,
        budget_usd=agenda.budget.max_usd,
        new=new,
        takeover=takeover,
    )
    run, resumed = start.run, start.outcome == "resumed"
    if start.outcome == "completed":
        return _summary(store, run.id, resumed=False, done=True, started=started)
    await warming
    loads: asyncio.Future[None] | None = None
    try:
        with _run_backend(store, run, backend) as sandbox:
            def round_context(n: int) -> StageContext:
                return _context(
                    agenda, store=store, run=run, progress=sink, hooks=hooks, round=n,
                    backend=sandbox,
                )

            first = round_context(0)
            loads = asyncio.ensure_future(_load_behind(first.client, agenda))
            await _run_stages(
                first, registered_stages(), rounds=rounds, round_context=round_context,
            )
    finally:
        if loads is not None:
            # A run answered from the cache alone never sends its first wave: its loads are
            # not waited for. Awaited even when done, so a failed load's error is retrieved,
            # never left unread (the first idea merge or sandbox run raises it again where it
            # matters).
            loads.cancel()
            await asyncio.gather(loads, return_exceptions=True)
    return _summary(store, run.id, resumed=resumed, done=False, started=started)


async def _run_queued(
    agenda: Agenda, *, store: Store, progress: ProgressSink, run_id: int, lease: int | None,
    takeover: bool, hooks: Hooks, started: float, backend: Backend | None,
) -> RunSummary:
    run = store.get_run(run_id)
    if run.agenda_digest != agenda.digest():
        raise ConfigError(f"run {run_id} belongs to another agenda ({run.name!r})")
    if run.status == RunStatus.COMPLETED:
        return _summary(store, run.id, resumed=False, done=True, started=started)
    resumed = store.count_artifacts(run_id=run.id) > 0
    store.claim_run(run.id, takeover=takeover, lease=lease)
    with _run_backend(store, run, backend) as sandbox:
        ctx = _context(
            agenda, store=store, run=run, progress=progress, hooks=hooks, round=0,
            backend=sandbox,
        )
        await _run_stages(ctx, registered_stages())
    return _summary(store, run.id, resumed=resumed, done=False, started=started)


async def _rerun_stage(
    agenda: Agenda, *, store: Store, progress: ProgressSink, stage: str, takeover: bool,
    hooks: Hooks, started: float, backend: Backend | None,
) -> RunSummary:
    try:
        spec = get_stage(stage)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    run = store.latest_run(agenda_digest=agenda.digest())
    if run is None:
        raise ConfigError(
            f"the agenda has no run yet, so there is no stage {stage!r} to re-run; run it "
            "without --stage first"
        )
    round_ = _stage_round(store, run, spec.name)
    resumed = run.status != RunStatus.COMPLETED
    store.claim_run(run.id, takeover=takeover)
    with _run_backend(store, run, backend) as sandbox:
        ctx = _context(
            agenda, store=store, run=run, progress=progress, hooks=hooks, round=round_,
            backend=sandbox,
        )
        await _run_stages(ctx, [spec], mark=f"[stage {spec.name} round {round_}] ")
    return _summary(
        store, run.id, resumed=resumed, done=False, started=started, stage_round=round_
    )


def _fine_tuned_models(store: Store) -> list[tuple[str, str]]:
    """(role, model) of each critic's fine-tuned model in use (`autoalign learn
    register-model`): checked before a run like the agenda's own models."""
    latest: dict[str, tuple[str, str]] = {}
    for v in store.critic_versions():
        if v.applied and v.update == UpdateKind.FINE_TUNED:
            latest[v.critic] = (str(v.params["role"]), str(v.params["model"]))
    return sorted(set(latest.values()))


@contextlib.contextmanager
def _run_backend(store: Store, run: RunRecord, made: Backend | None) -> Iterator[Backend]:
    """The run's sandbox backend: the one made from `[sandbox]` (closed by the caller), or for
    `backend = "queue"` the shared work queue, keyed to this run and closed here."""
    if made is not None:
        yield made
        return
    queue = QueueBackend(store, run_id=run.id)
    try:
        yield queue
    finally:
        queue.close()


_SETTLED: set[str] = set()
"""The moments of `_settle_heap` that have passed in this process."""


async def _load_behind(client: ModelClient, agenda: Agenda) -> None:
    """Load in threads, once the run's first wave of asks is on the network, what its later
    steps need: the sandbox's isolation probe (a few child processes, once per process) and
    what only the models' agent paths need (a plain ask goes without). The imports hold the
    interpreter lock for tenths of a second: started with the stages, they held back the first
    wave's requests (docs/scaling.md); started now, they land while the loop waits on the
    network."""
    await client.wave_sent()
    done = await asyncio.gather(
        asyncio.to_thread(_probe_sandbox),
        asyncio.to_thread(warm_models, agenda.models, ROLES, agent_path=True),
        return_exceptions=True,
    )
    _settle_heap("loaded")  # the modules they imported
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome


def _settle_heap(moment: str) -> None:
    """Move every object alive now out of the garbage collector's reach (`gc.freeze`), once
    per process at each `moment` (a run's start; the loads that follow it).

    At those moments nearly every object alive belongs to a module a run imported (pydantic-ai,
    the SDKs, SQLAlchemy, numpy; then the agent paths'), and lives as long as the
    process. Every full collection walked them all, a few tenths of a second with the event
    loop stopped, every few seconds of a large run (docs/scaling.md has the measurements).
    Frozen objects are still freed by reference counting; what freezing loses is the
    collection of reference cycles already garbage at that moment. Once per process, so that a
    worker running run after run does not freeze each run's leftovers.
    """
    if moment in _SETTLED:
        return
    _SETTLED.add(moment)
    gc.freeze()


def _probe_sandbox() -> None:
    """Probe the sandbox's isolation level now; an error is left for the first sandbox run."""
    with contextlib.suppress(ConfigError):  # raised again, with its hint, where it matters
        isolation_level()


def _context(
    agenda: Agenda, *, store: Store, run: RunRecord, progress: ProgressSink, hooks: Hooks,
    round: int, backend: Backend,
) -> StageContext:
    client = ModelClient(
        config=agenda.models,
        ledger=store,
        run_id=run.id,
        budget=agenda.budget,
        seed=run.seed + round * ROUND_SEED_STRIDE,
        on_call=progress.call,
    )
    return StageContext(
        store=store, client=client, run=run, agenda=agenda, progress=progress, hooks=hooks,
        round=round, backend=backend,
    )


def run_agenda_sync(
    agenda: Agenda,
    *,
    store: Store,
    progress: ProgressSink | None = None,
    new: bool = False,
    takeover: bool = False,
    stage: str | None = None,
    rounds: int = 1,
) -> RunSummary:
    """Synchronous twin of `run_agenda`, for the CLI."""
    return asyncio.run(
        run_agenda(
            agenda, store=store, progress=progress, new=new, takeover=takeover, stage=stage,
            rounds=rounds,
        )
    )
