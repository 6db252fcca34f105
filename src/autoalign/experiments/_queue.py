"""Sandbox jobs through the shared work queue: `QueueBackend` enqueues, any worker runs them.

`QueueBackend` implements the sandbox `Backend` protocol (submit, map, close): each job becomes a
`sandbox` work item whose payload is the job as JSON; an `autoalign worker` anywhere claims it,
runs it with `run_job` (`run_sandbox_item`) and stores the run's record, in the format a stored
`sandbox_run` artifact holds (`describe_run(...).content`), as the item's result. The backend
polls for its items' results and completes their futures. It stores no artifact: its caller
records the returned `SandboxRun` as it records one from any backend.

A job's item key is the run id and a digest of the job, so submitting the same job twice for one
run (a resumed step) finds the first item, and its record if it already ran.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..errors import WorkError
from ..sandbox import IsolationLevel, Job, Limits, SandboxRun, describe_run, run_job
from ..store import Store, WorkItemRecord
from ..vocabulary import WorkKind, WorkState

POLL_S = 0.2
"""Seconds between two looks at the queue for finished items."""


def job_payload(job: Job) -> dict[str, Any]:
    """The job as JSON: kind, payload (spec JSON or source) and limits."""
    return {"kind": job.kind, "payload": job.payload, "limits": job.limits.model_dump()}


def job_from_payload(payload: Any) -> Job:
    """The job a `sandbox` item carries.

    Raises:
        WorkError: the payload is not a job.
    """
    try:
        return Job(kind=payload["kind"], payload=str(payload["payload"]),
                   limits=Limits.model_validate(payload["limits"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise WorkError(f"a sandbox work item's payload is not a job: {exc}") from None


def job_key(job: Job, *, run_id: int | None) -> str:
    """`RUN:sha256` of the job's JSON (`-` for no run): one item per job and run."""
    digest = hashlib.sha256(json.dumps(job_payload(job), sort_keys=True).encode()).hexdigest()
    return f"{run_id if run_id is not None else '-'}:{digest}"


def run_sandbox_item(
    item: WorkItemRecord, *, isolation: IsolationLevel | None = None
) -> dict[str, Any]:
    """Run a `sandbox` item's job with `run_job` and return its record as stored JSON."""
    return describe_run(run_job(job_from_payload(item.payload), isolation=isolation)).content


class QueueBackend:
    """A sandbox `Backend` whose jobs run on whichever `autoalign worker` claims them.

    Nothing runs unless a worker runs `sandbox` items on the same database. A future fails with
    `WorkError` when the worker's handler failed, or after `timeout_s` without a record.
    """

    def __init__(
        self, store: Store, *, run_id: int | None = None, timeout_s: float | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        """Watch the queue of `store`.

        Args:
            store: the research database the workers share.
            run_id: the run the jobs belong to (part of each item's key).
            timeout_s: fail a job's future when no record came after this many seconds.
            poll_s: seconds between two looks at the queue.
        """
        self.store = store
        self.run_id = run_id
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._waiting: dict[int, tuple[Future[SandboxRun], float]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="queue-backend", daemon=True)
        self._poller.start()

    def submit(self, job: Job) -> Future[SandboxRun]:
        """Enqueue `job` (or find it queued or done already); the future gives its record."""
        if self._closed.is_set():
            raise RuntimeError("QueueBackend is closed")
        item = self.store.enqueue_work(
            kind=WorkKind.SANDBOX, key=job_key(job, run_id=self.run_id),
            payload=job_payload(job), run_id=self.run_id,
        )
        future: Future[SandboxRun] = Future()
        future.set_running_or_notify_cancel()
        if not _settle(future, item):
            with self._lock:
                self._waiting[item.id] = (future, time.monotonic())
        return future

    def map(self, jobs: Iterable[Job]) -> list[SandboxRun]:
        """Enqueue every job, then wait for all their records, in order."""
        futures = [self.submit(job) for job in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Stop waiting: futures not yet settled fail with `WorkError`. Their items stay queued;
        a worker may still run them, and submitting the same job again finds the record."""
        self._closed.set()
        self._poller.join()
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for item_id, (future, _) in waiting.items():
            future.set_exception(WorkError(f"QueueBackend closed while work item {item_id} "
                                           "was still waiting for a worker"))

    def __enter__(self) -> QueueBackend:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _poll(self) -> None:
        while not self._closed.wait(self.poll_s):
            with self._lock:
                ids = list(self._waiting)
            if not ids:
                continue
            try:
                items = self.store.work_items(ids=ids)
            except SQLAlchemyError:
                continue  # the database is briefly unreachable: look again at the next poll
            for item in items:
                with self._lock:
                    entry = self._waiting.get(item.id)
                if entry is None:
                    continue
                future, since = entry
                settled = _settle(future, item)
                if not settled and self.timeout_s is not None and (
                    time.monotonic() - since > self.timeout_s
                ):
                    future.set_exception(WorkError(
                        f"sandbox work item {item.id} got no record within {self.timeout_s:g}s "
                        f"(state {item.state}); is an `autoalign worker` running sandbox items "
                        "on this database?"
                    ))
                    settled = True
                if settled:
                    with self._lock:
                        self._waiting.pop(item.id, None)


def _settle(future: Future[SandboxRun], item: WorkItemRecord) -> bool:
    """Complete `future` from a finished item; False while the item is not finished."""
    if item.state == WorkState.DONE:
        try:
            future.set_result(SandboxRun.model_validate(item.result))
        except ValueError as exc:
            future.set_exception(WorkError(f"work item {item.id}'s record is not a sandbox "
                                           f"run: {exc}"))
        return True
    if item.state == WorkState.FAILED:
        future.set_exception(WorkError(f"sandbox work item {item.id} failed: {item.error}"))
        return True
    return False
