"""Sequence the four stages for one agenda; start, resume, and stop runs cleanly."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from ..agenda import Agenda
from ..errors import BudgetExceededError, ModelError
from ..models import ModelClient, check_models
from ..store import RunRecord, Store, UsageTotals
from ..vocabulary import ROLE_NAMES
from . import examine, execute, propose, writeup
from ._steps import NothingToDoError, NullProgress, ProgressSink, StageContext, StepFailedError

ROLES = ROLE_NAMES
"""Every role this pipeline asks; each must resolve to a usable model before a run starts."""

STAGES = ("propose", "execute", "writeup", "examine")


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


def _summary(
    store: Store, run_id: int, *, resumed: bool, done: bool, started: float
) -> RunSummary:
    artifacts = store.artifacts(run_id=run_id)
    papers = [a for a in artifacts if a.kind == "paper"]
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
    )


async def run_agenda(
    agenda: Agenda,
    *,
    store: Store,
    progress: ProgressSink | None = None,
    new: bool = False,
    takeover: bool = False,
) -> RunSummary:
    """Run an agenda through all four stages, resuming its unfinished run if there is one.

    Model configuration is checked before anything is written. A budget stop, a step that stays
    invalid under `on_failure = "stop"`, or a stage left with no input ends the run with status
    `stopped` and the reason; a provider failure ends it `failed`. Both are recorded, never lost.

    Args:
        agenda: the validated agenda.
        store: the research database.
        progress: where to report steps as they finish.
        new: start a fresh run (with a new sampling seed) even if one exists for this agenda.
        takeover: resume the run even if a process on another host is recorded as executing it.

    Raises:
        ConfigError: a role's model cannot be used, or a dollar budget is set for a model whose
            price is unknown (checked before anything is written).
        RunBusyError: another live process executes this agenda's unfinished run.
    """
    started = time.monotonic()
    sink = progress or NullProgress()
    check_models(agenda.models, ROLES, budget=agenda.budget)
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
    client = ModelClient(
        config=agenda.models,
        ledger=store,
        run_id=run.id,
        budget=agenda.budget,
        seed=run.seed,
        on_call=sink.call,
    )
    ctx = StageContext(store=store, client=client, run=run, agenda=agenda, progress=sink)
    try:
        proposal = await propose.run(ctx)
        executed = await execute.run(ctx, proposal)
        paper = await writeup.run(ctx, proposal, executed)
        await examine.run(ctx, paper)
    except (BudgetExceededError, StepFailedError, NothingToDoError) as exc:
        store.set_run_status(run.id, "stopped", reason=str(exc))
    except ModelError as exc:
        store.set_run_status(run.id, "failed", reason=str(exc))
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.set_run_status(run.id, "stopped", reason="interrupted; run again to resume")
        raise
    except Exception as exc:  # a bug: record it on the run, keep the traceback for the user
        store.set_run_status(
            run.id, "failed", reason=f"internal error {type(exc).__name__}: {exc}"[:2000]
        )
        raise
    else:
        store.set_run_status(run.id, "completed")
    finally:
        await client.aclose()
    return _summary(store, run.id, resumed=resumed, done=False, started=started)


def run_agenda_sync(
    agenda: Agenda,
    *,
    store: Store,
    progress: ProgressSink | None = None,
    new: bool = False,
    takeover: bool = False,
) -> RunSummary:
    """Synchronous twin of `run_agenda`, for the CLI."""
    return asyncio.run(
        run_agenda(agenda, store=store, progress=progress, new=new, takeover=takeover)
    )
