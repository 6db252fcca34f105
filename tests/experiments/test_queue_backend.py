"""`QueueBackend`: sandbox jobs enqueued as work items, run by a worker, records handed back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from autoalign.cluster import Worker
from autoalign.errors import WorkError
from autoalign.experiments import QueueBackend, job_from_payload, job_key, job_payload
from autoalign.sandbox import Backend, Job, Limits, SandboxRun, describe_run, run_job
from autoalign.store import Store
from autoalign.testbeds import ExperimentSpec
from autoalign.vocabulary import WorkKind, WorkState

LIMITS = Limits(wall_s=60, cpu_s=60)


def _spec_job(seed: int) -> Job:
    spec = ExperimentSpec(testbed="reward_hacking", seeds=[seed])
    return Job(kind="spec", payload=spec.model_dump_json(), limits=LIMITS)


class _Workers:
    """A `Worker` running sandbox items in a thread of its own, stopped at the end."""

    def __init__(self, store: Store) -> None:
        self.worker = Worker(store, kinds=[WorkKind.SANDBOX], concurrency=2, poll_s=0.05)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self.worker.run(),)
        )
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self.worker.stop)
        self._thread.join(timeout=120)
        self._loop.close()


@pytest.fixture
def workers(store: Store) -> Iterator[_Workers]:
    running = _Workers(store)
    yield running
    running.stop()


def _volatile_free(run: SandboxRun) -> dict[str, object]:
    """What a run of the job always gives: its kind, isolation, exit and result record."""
    content = describe_run(run).content
    keep = ("kind", "isolation", "enforced", "not_enforced", "exit_code", "killed_by",
            "result_error", "limits")
    result = {k: v for k, v in content["result"].items() if k != "seconds"}
    return {"result": result} | {k: content[k] for k in keep}


def test_a_job_round_trips_through_its_payload() -> None:
    job = _spec_job(3)
    assert job_from_payload(job_payload(job)) == job
    assert job_key(job, run_id=4).startswith("4:") and job_key(job, run_id=None).startswith("-:")
    assert job_key(job, run_id=4) != job_key(_spec_job(4), run_id=4)
    with pytest.raises(WorkError, match="not a job"):
        job_from_payload({"kind": "spec"})


def test_jobs_run_on_a_worker_and_come_back_as_local_records(
    store: Store, workers: _Workers
) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    jobs = [_spec_job(seed) for seed in range(3)]
    with QueueBackend(store, run_id=run.id, poll_s=0.05) as backend:
        assert isinstance(backend, Backend)
        records = backend.map(jobs)
    local = [run_job(job) for job in jobs]
    assert [_volatile_free(r) for r in records] == [_volatile_free(r) for r in local]
    assert all(r.ok and r.result is not None for r in records)

    items = store.work_items(kind=WorkKind.SANDBOX)
    assert [i.key for i in items] == [job_key(job, run_id=run.id) for job in jobs]
    assert {(i.state, i.run_id, i.owner) for i in items} == {(WorkState.DONE, run.id, None)}
    # The item holds the record in the format a stored sandbox_run artifact holds.
    assert SandboxRun.model_validate(items[0].result) == records[0]

    # Submitting a job again finds its record: nothing is enqueued or run twice.
    with QueueBackend(store, run_id=run.id) as again:
        assert again.submit(jobs[0]).result(timeout=5) == records[0]
    assert len(store.work_items(kind=WorkKind.SANDBOX)) == 3
    assert all(i.attempts == 1 for i in store.work_items(kind=WorkKind.SANDBOX))


def test_a_failed_item_fails_its_future(store: Store) -> None:
    job = _spec_job(0)
    with QueueBackend(store, poll_s=0.05) as backend:
        future = backend.submit(job)
        claimed = store.claim_work(owner="w", kinds=[WorkKind.SANDBOX], lease_s=60)
        assert claimed is not None
        assert store.finish_work(claimed.id, owner="w", error="the sandbox exploded")
        with pytest.raises(WorkError, match="the sandbox exploded"):
            future.result(timeout=30)


def test_without_a_worker_a_job_times_out_and_close_ends_the_wait(store: Store) -> None:
    with QueueBackend(store, poll_s=0.05, timeout_s=0.3) as waiting, \
            pytest.raises(WorkError, match="no record within"):
        waiting.submit(_spec_job(1)).result(timeout=30)
    backend = QueueBackend(store, poll_s=0.05)
    pending = backend.submit(_spec_job(2))
    backend.close()
    with pytest.raises(WorkError, match="closed"):
        pending.result(timeout=5)
    assert {i.state for i in store.work_items()} == {WorkState.QUEUED}  # left for a worker
