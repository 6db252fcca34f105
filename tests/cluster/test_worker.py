"""The worker loop in this process: runs a submitted run, gives items back when stopped, lets go
of an item another worker took over, and records a handler's failure."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text, update

from autoalign.agenda import Agenda, load_agenda
from autoalign.cluster import ItemEvent, Worker, run_worker_sync, submit_agenda
from autoalign.store import Store
from autoalign.store._schema import Run, WorkItem
from autoalign.vocabulary import RunStatus, WorkKind, WorkState

AGENDA = """
[run]
name = "queued"

[models]
default = "scripted:schema"

[models.providers.scripted]
latency_s = {latency}
concurrency = 1

[pipeline]
ideas_per_topic = 1
idea_framings = 2
proposals = 1

[[topics]]
name = "Reward hacking"
"""


def _agenda(tmp_path: Path, latency: float) -> Agenda:
    path = tmp_path / "agenda.toml"
    path.write_text(AGENDA.format(latency=latency))
    return load_agenda(path)


def _paid_twice(store: Store, run_id: int) -> list[tuple[object, ...]]:
    """Cache keys of real provider calls (not cache hits) booked more than once in the run."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT cache_key, count(*) FROM llm_calls WHERE run_id = :run AND NOT cache_hit "
            "GROUP BY cache_key HAVING count(*) > 1"), {"run": run_id})]


def test_a_submitted_run_is_run_by_a_worker(store: Store, tmp_path: Path) -> None:
    submitted = submit_agenda(_agenda(tmp_path, 0.0), store=store)
    assert submitted.item is not None and submitted.run.status == RunStatus.QUEUED
    events: list[ItemEvent] = []
    stats = run_worker_sync(Worker(store, once=True, on_item=events.append))

    assert (stats.done, stats.failed) == (1, 0)
    (event,) = events
    assert event.outcome == "done" and event.item.id == submitted.item.id
    assert event.what == f"item {submitted.item.id} project run {submitted.run.id} (queued)"
    assert event.detail.startswith("completed")
    run = store.get_run(submitted.run.id)
    assert run.status == RunStatus.COMPLETED and run.owner is None
    item = store.work_item(submitted.item.id)
    assert item.state == WorkState.DONE and item.owner is None
    assert item.result["status"] == "completed" and item.result["calls"] > 0
    assert store.artifacts(run_id=run.id)
    # Submitting the agenda again: its run completed, nothing is queued.
    assert submit_agenda(_agenda(tmp_path, 0.0), store=store).item is None


def _run_in_thread(worker: Worker) -> tuple[threading.Thread, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(worker.run(),))
    thread.start()
    return thread, loop


def _wait_for_calls(store: Store, run_id: int, n: int = 1) -> None:
    deadline = time.monotonic() + 120
    while len(store.calls(run_id=run_id)) < n:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.05)


def test_stop_gives_the_item_back_and_the_next_worker_resumes_it(
    store: Store, tmp_path: Path
) -> None:
    agenda = _agenda(tmp_path, 0.3)
    submitted = submit_agenda(agenda, store=store)
    assert submitted.item is not None
    events: list[ItemEvent] = []
    first = Worker(store, poll_s=0.05, on_item=events.append)
    thread, loop = _run_in_thread(first)
    _wait_for_calls(store, submitted.run.id, 2)
    loop.call_soon_threadsafe(first.stop)
    thread.join(timeout=120)
    loop.close()

    assert [e.outcome for e in events] == ["released"]
    item = store.work_item(submitted.item.id)
    assert (item.state, item.owner, item.attempts) == (WorkState.QUEUED, None, 0)
    run = store.get_run(submitted.run.id)
    assert run.status == RunStatus.STOPPED and run.owner is None
    assert "interrupted" in (run.stop_reason or "")
    before = len(store.calls(run_id=run.id))

    stats = run_worker_sync(Worker(store, once=True))
    assert stats.done == 1
    assert store.get_run(run.id).status == RunStatus.COMPLETED
    assert len(store.calls(run_id=run.id)) > before
    assert _paid_twice(store, run.id) == []


def test_a_worker_lets_go_of_an_item_another_worker_took(store: Store, tmp_path: Path) -> None:
    submitted = submit_agenda(_agenda(tmp_path, 0.3), store=store)
    assert submitted.item is not None
    events: list[ItemEvent] = []
    worker = Worker(store, poll_s=0.05, lease_s=0.9, on_item=events.append)
    thread, loop = _run_in_thread(worker)
    _wait_for_calls(store, submitted.run.id)
    # As if this worker had paused past its lease and another one claimed the item and run.
    thief = "elsewhere.example:1:1"
    with store.engine.begin() as conn:
        conn.execute(update(WorkItem).where(WorkItem.id == submitted.item.id)
                     .values(owner=thief))
        conn.execute(update(Run).where(Run.id == submitted.run.id)
                     .values(owner=f"lease:{submitted.item.id}:{thief}"))
    deadline = time.monotonic() + 60
    while not events:
        assert time.monotonic() < deadline, "the worker did not notice it lost its lease"
        time.sleep(0.05)
    loop.call_soon_threadsafe(worker.stop)
    thread.join(timeout=120)
    loop.close()

    assert [e.outcome for e in events] == ["lost"]
    item = store.work_item(submitted.item.id)
    assert (item.state, item.owner) == (WorkState.CLAIMED, thief)  # the thief's to finish
    run = store.get_run(submitted.run.id)
    assert run.status == RunStatus.RUNNING and run.owner == f"lease:{submitted.item.id}:{thief}"


def test_a_failing_item_is_recorded_and_the_worker_goes_on(store: Store) -> None:
    broken = store.submit_run(name="b", agenda_digest="b" * 64, config={"run": "not a table"})
    sandbox = store.enqueue_work(kind=WorkKind.SANDBOX, key="bad", payload={"kind": "spec"})
    events: list[ItemEvent] = []
    stats = run_worker_sync(Worker(store, poll_s=0.05, idle_exit_s=0.2, on_item=events.append))

    assert stats.failed == 2 and stats.done == 0
    assert broken.item is not None
    project = store.work_item(broken.item.id)
    assert project.state == WorkState.FAILED and "run 1's agenda" in (project.error or "")
    bad = store.work_item(sandbox.id)
    assert bad.state == WorkState.FAILED and "not a job" in (bad.error or "")
    assert {e.outcome for e in events} == {"failed"}


def test_worker_arguments_are_checked(store: Store) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Worker(store, concurrency=0)
    with pytest.raises(ValueError, match="kind"):
        Worker(store, kinds=[])
