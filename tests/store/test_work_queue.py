"""The work queue on SQLite and PostgreSQL: each item claimed once, leases expire and are taken
over, only the owner finishes or releases, and runs are owned through a lease."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import update

from autoalign.errors import RunBusyError
from autoalign.store import LEASE_OWNER_PREFIX, MAX_ATTEMPTS, Owner, Store
from autoalign.store._schema import Run
from autoalign.vocabulary import RunStatus, WorkKind, WorkState

PROJECT, SANDBOX = WorkKind.PROJECT, WorkKind.SANDBOX


def _fill(store: Store, n: int, kind: WorkKind = SANDBOX) -> list[int]:
    return [store.enqueue_work(kind=kind, key=f"k{i}", payload={"i": i}).id for i in range(n)]


def test_enqueue_is_idempotent_and_revives_a_failed_item(store: Store) -> None:
    first = store.enqueue_work(kind=SANDBOX, key="a", payload={"x": 1})
    again = store.enqueue_work(kind=SANDBOX, key="a", payload={"x": 2})
    other_kind = store.enqueue_work(kind=PROJECT, key="a", payload={})
    assert again.id == first.id and again.payload == {"x": 1}
    assert other_kind.id != first.id
    assert first.state == WorkState.QUEUED and first.attempts == 0

    claimed = store.claim_work(owner="w1", kinds=[SANDBOX], lease_s=60)
    assert claimed is not None and claimed.id == first.id
    assert store.finish_work(first.id, owner="w1", error="boom")
    assert store.work_item(first.id).state == WorkState.FAILED
    revived = store.enqueue_work(kind=SANDBOX, key="a")
    assert (revived.id, revived.state, revived.attempts, revived.error) == (
        first.id, WorkState.QUEUED, 0, None)

    assert store.claim_work(owner="w1", kinds=[SANDBOX], lease_s=60) is not None
    assert store.finish_work(first.id, owner="w1", result={"ok": True})
    done = store.enqueue_work(kind=SANDBOX, key="a")
    assert done.state == WorkState.DONE and done.result == {"ok": True}  # done stays done


def test_claims_take_the_oldest_ready_item_of_the_kinds_asked(store: Store) -> None:
    project = store.enqueue_work(kind=PROJECT, key="p")
    sandbox = _fill(store, 2)
    got = store.claim_work(owner="w", kinds=[SANDBOX], lease_s=60)
    assert got is not None and got.id == sandbox[0] and got.state == WorkState.CLAIMED
    assert got.owner == "w" and got.attempts == 1 and got.taken_over_from is None
    assert got.lease_until is not None and got.heartbeat_at is not None
    both = store.claim_work(owner="w", kinds=[PROJECT, SANDBOX], lease_s=60)
    assert both is not None and both.id == project.id


def test_a_live_lease_is_never_claimed_and_an_expired_one_is_taken_over(store: Store) -> None:
    (item,) = _fill(store, 1)
    assert store.claim_work(owner="dead", kinds=[SANDBOX], lease_s=0.3) is not None
    assert store.claim_work(owner="other", kinds=[SANDBOX], lease_s=60) is None
    time.sleep(0.5)  # the lease runs out: its owner died
    taken = store.claim_work(owner="other", kinds=[SANDBOX], lease_s=60)
    assert taken is not None and taken.id == item
    assert taken.taken_over_from == "dead" and taken.attempts == 2 and taken.owner == "other"
    # The old owner has lost it: it can neither renew, finish nor release it.
    assert not store.renew_work_lease(item, owner="dead", lease_s=60)
    assert not store.finish_work(item, owner="dead", result={"late": True})
    assert not store.release_work(item, owner="dead")
    assert store.work_item(item).owner == "other"
    assert store.renew_work_lease(item, owner="other", lease_s=60)
    assert store.finish_work(item, owner="other", result={"r": 1})
    assert store.work_item(item).result == {"r": 1}


def test_a_heartbeat_keeps_the_lease(store: Store) -> None:
    (item,) = _fill(store, 1)
    claimed = store.claim_work(owner="w", kinds=[SANDBOX], lease_s=0.4)
    assert claimed is not None and claimed.lease_until is not None
    for _ in range(4):
        time.sleep(0.2)
        assert store.renew_work_lease(item, owner="w", lease_s=0.4)
        assert store.claim_work(owner="x", kinds=[SANDBOX], lease_s=60) is None
    renewed = store.work_item(item)
    assert renewed.lease_until is not None and renewed.lease_until > claimed.lease_until


def test_release_gives_the_item_back_at_once_without_counting_the_claim(store: Store) -> None:
    (item,) = _fill(store, 1)
    assert store.claim_work(owner="w", kinds=[SANDBOX], lease_s=60) is not None
    assert store.release_work(item, owner="w")
    back = store.work_item(item)
    assert (back.state, back.owner, back.lease_until, back.attempts) == (
        WorkState.QUEUED, None, None, 0)
    again = store.claim_work(owner="x", kinds=[SANDBOX], lease_s=60)
    assert again is not None and again.id == item and again.taken_over_from is None


def test_an_item_whose_workers_keep_dying_fails(store: Store) -> None:
    (item,) = _fill(store, 1)
    for n in range(MAX_ATTEMPTS):
        got = store.claim_work(owner=f"w{n}", kinds=[SANDBOX], lease_s=0.05)
        assert got is not None and got.attempts == n + 1
        time.sleep(0.1)
    assert store.claim_work(owner="last", kinds=[SANDBOX], lease_s=60) is None
    failed = store.work_item(item)
    assert failed.state == WorkState.FAILED and failed.error is not None
    assert f"claimed {MAX_ATTEMPTS} times" in failed.error and "w4" in failed.error


def _claim_all(db_url: str, owner: str, out: list[int]) -> None:
    store = Store.open(db_url)
    try:
        while (item := store.claim_work(owner=owner, kinds=[SANDBOX], lease_s=600)) is not None:
            out.append(item.id)
            assert store.finish_work(item.id, owner=owner, result={"by": owner})
    finally:
        store.close()


def test_threads_with_their_own_connections_claim_each_item_once(
    store: Store, db_url: str
) -> None:
    ids = _fill(store, 60)
    found: list[list[int]] = [[] for _ in range(6)]
    threads = [threading.Thread(target=_claim_all, args=(db_url, f"t{i}", found[i]))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for part in found for i in part]
    assert Counter(claimed) == Counter(ids)
    items = store.work_items(kind=SANDBOX)
    assert all(i.state == WorkState.DONE and i.attempts == 1 for i in items)
    assert {i.result["by"] for i in items} <= {f"t{i}" for i in range(6)}


def _claim_in_process(db_url: str, owner: str) -> list[int]:
    out: list[int] = []
    _claim_all(db_url, owner, out)
    return out


def test_processes_claim_each_item_once(store: Store, db_url: str) -> None:
    ids = _fill(store, 60)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        parts = pool.starmap(_claim_in_process, [(db_url, f"p{i}") for i in range(4)])
    assert Counter(i for part in parts for i in part) == Counter(ids)
    assert {i.state for i in store.work_items()} == {WorkState.DONE}


def _set_owner(store: Store, run_id: int, owner: str | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run_id).values(owner=owner))


def test_submit_queues_a_run_once_and_reports_a_completed_one(store: Store) -> None:
    args = {"name": "n", "agenda_digest": "d" * 64, "config": {}, "seed": 7}
    first = store.submit_run(**args)
    assert first.outcome == "created" and first.item is not None
    assert first.run.status == RunStatus.QUEUED and first.run.owner is None
    assert first.run.seed == 7
    assert (first.item.kind, first.item.key, first.item.run_id) == (
        PROJECT, str(first.run.id), first.run.id)
    again = store.submit_run(**args)
    assert again.outcome == "resumed" and again.item is not None
    assert again.item.id == first.item.id and again.run.id == first.run.id
    fresh = store.submit_run(**args, new=True)
    assert fresh.outcome == "created" and fresh.run.id != first.run.id
    assert fresh.run.seed == 8  # as start_run seeds the agenda's next run
    store.set_run_status(fresh.run.id, RunStatus.COMPLETED)
    done = store.submit_run(**args)
    assert done.outcome == "completed" and done.item is None
    assert len(store.work_items(kind=PROJECT)) == 2


def test_a_run_owned_through_a_lease_is_busy_while_the_lease_lives(store: Store) -> None:
    sub = store.submit_run(name="n", agenda_digest="e" * 64, config={})
    assert sub.item is not None
    run_id, item_id = sub.run.id, sub.item.id
    # Another worker (another host) claimed the item and owns the run through its lease.
    holder = "elsewhere.example:4242:99"
    assert store.claim_work(owner=holder, kinds=[PROJECT], lease_s=0.5) is not None
    _set_owner(store, run_id, f"{LEASE_OWNER_PREFIX}{item_id}:{holder}")
    with pytest.raises(RunBusyError, match=f"worker {holder}"):
        store.claim_run(run_id)
    with pytest.raises(RunBusyError, match=f"worker {holder}"):
        store.start_run(name="n", agenda_digest="e" * 64, config={})
    # Claiming the run "through" a lease this process does not hold is refused too.
    with pytest.raises(RunBusyError, match="does not hold the lease"):
        store.claim_run(run_id, lease=item_id)

    time.sleep(0.7)  # that worker died: its lease expired
    me = str(Owner.me())
    taken = store.claim_work(owner=me, kinds=[PROJECT], lease_s=60)
    assert taken is not None and taken.taken_over_from == holder
    store.claim_run(run_id, lease=item_id)  # no --takeover needed: the lease says it is dead
    run = store.get_run(run_id)
    assert run.owner == f"{LEASE_OWNER_PREFIX}{item_id}:{me}"
    assert run.status == RunStatus.RUNNING
    store.claim_run(run_id)  # this process again (the orchestrator's own claim)


def test_an_expired_lease_owner_is_taken_over_by_a_plain_run(store: Store) -> None:
    sub = store.submit_run(name="n", agenda_digest="f" * 64, config={})
    assert sub.item is not None
    _set_owner(store, sub.run.id, f"{LEASE_OWNER_PREFIX}{sub.item.id}:gone.example:1:2")
    # No live lease on the item at all (never claimed): the owner is gone.
    start = store.start_run(name="n", agenda_digest="f" * 64, config={})
    assert start.outcome == "resumed" and start.run.owner == str(Owner.me())


def test_a_worker_that_lost_its_lease_does_not_finish_the_run(store: Store) -> None:
    run = store.create_run(name="n", agenda_digest="g" * 64, config={})
    _set_owner(store, run.id, f"{LEASE_OWNER_PREFIX}1:{socket.gethostname()}:1:1")
    store.set_run_status(run.id, RunStatus.STOPPED, reason="interrupted")
    after = store.get_run(run.id)
    assert after.status == RunStatus.RUNNING and after.owner is not None  # untouched
    _set_owner(store, run.id, f"{LEASE_OWNER_PREFIX}1:{Owner.me()}")
    store.set_run_status(run.id, RunStatus.STOPPED, reason="interrupted")
    assert store.get_run(run.id).status == RunStatus.STOPPED
