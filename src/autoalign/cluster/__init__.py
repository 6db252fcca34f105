"""Past one machine: `autoalign worker` processes sharing work through the research database.

`submit_agenda` queues an agenda's run as a `project` work item; a `Worker` claims items of the
kinds it runs (`project`, `sandbox`) under a lease renewed by a heartbeat, runs them, and records
how they ended. A worker that dies leaves its item to be claimed again when the lease expires,
and the pipeline's resume does the rest. See `docs/scaling.md`.

    from autoalign.cluster import Worker, run_worker_sync

    run_worker_sync(Worker(store, concurrency=2, idle_exit_s=60))
"""

from ._handlers import Outcome, describe_item, run_project, run_sandbox
from ._loop import (
    DEFAULT_LEASE_S,
    DEFAULT_POLL_S,
    ItemEvent,
    ItemOutcome,
    Worker,
    WorkerStats,
    run_worker_sync,
)
from ._submit import submit_agenda

__all__ = [
    "DEFAULT_LEASE_S",
    "DEFAULT_POLL_S",
    "ItemEvent",
    "ItemOutcome",
    "Outcome",
    "Worker",
    "WorkerStats",
    "describe_item",
    "run_project",
    "run_sandbox",
    "run_worker_sync",
    "submit_agenda",
]
