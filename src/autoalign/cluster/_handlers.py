"""What a worker does with each kind of work item, and how it names the item in one line."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .._text import safe_line
from ..agenda import parse_agenda
from ..experiments import job_from_payload, run_sandbox_item
from ..pipeline import run_agenda
from ..sandbox import IsolationLevel
from ..store import Store, WorkItemRecord
from ..vocabulary import WorkKind


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a handler returns: the item's stored result and a short account of it."""

    result: Any
    """Stored as the item's result."""
    summary: str
    """How it ended, in a few words (`completed`, `ok (exit 0)`, ...)."""


def describe_item(store: Store, item: WorkItemRecord) -> str:
    """`item 7 project run 3 (name)` or `item 9 sandbox spec job`."""
    head = f"item {item.id} {item.kind}"
    if item.kind == WorkKind.PROJECT and item.run_id is not None:
        name = store.get_run(item.run_id).name
        return f"{head} run {item.run_id} ({safe_line(name)})"
    if item.kind == WorkKind.SANDBOX:
        kind = item.payload.get("kind", "?") if isinstance(item.payload, dict) else "?"
        run = f" of run {item.run_id}" if item.run_id is not None else ""
        return f"{head} {kind} job{run}"
    return head


async def run_project(store: Store, item: WorkItemRecord) -> Outcome:
    """Run (or resume) the item's run through every stage, owned through the item's lease.

    The agenda is the run's own `config`, so a worker needs no file from the submitting host.
    """
    if item.run_id is None:
        raise ValueError(f"project item {item.id} names no run")
    run = store.get_run(item.run_id)
    agenda = parse_agenda(run.config, source=f"run {run.id}'s agenda")
    summary = await run_agenda(agenda, store=store, run_id=run.id, lease=item.id)
    done = summary.run
    status = "already completed" if summary.already_completed else str(done.status)
    reason = f" ({done.stop_reason})" if done.stop_reason else ""
    return Outcome(
        result={"run_id": done.id, "status": str(done.status), "reason": done.stop_reason,
                "calls": summary.usage.calls, "cache_hits": summary.usage.cache_hits},
        summary=f"{status}{reason}, {summary.usage.calls} calls",
    )


async def run_sandbox(
    item: WorkItemRecord, *, isolation: IsolationLevel | None = None
) -> Outcome:
    """Run the item's sandbox job in a thread; its record is the result."""
    job_from_payload(item.payload)  # a malformed payload fails here, not in the thread
    record = await asyncio.to_thread(run_sandbox_item, item, isolation=isolation)
    exit_code = record.get("exit_code")
    killed = record.get("killed_by")
    ok = exit_code == 0 and killed is None and record.get("result_error") is None
    return Outcome(result=record, summary=f"{'ok' if ok else 'failed'} "
                   f"({killed or f'exit {exit_code}'})")
