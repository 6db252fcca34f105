"""Streaming and counting walks: the same ids as the list walks, without holding them all."""

from __future__ import annotations

import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable

import pytest
from sqlalchemy import insert, text

from autoalign.errors import DataError
from autoalign.store import Rollback, Store
from autoalign.store._schema import Artifact, ArtifactEvent, ProvenanceEdge
from autoalign.vocabulary import ReviewDecision

from .test_provenance import _bfs, _random_dag


def _insert_dag(store: Store, parents: dict[int, set[int]]) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(Artifact), [
            {"id": i, "kind": "note", "stage": "test", "initial_status": "ok"} for i in parents
        ])
        conn.execute(insert(ProvenanceEdge), [
            {"child_id": c, "parent_id": p} for c, ps in parents.items() for p in ps
        ])
        if conn.dialect.name == "postgresql":  # ids given explicitly leave the sequence behind
            conn.execute(text("SELECT setval(pg_get_serial_sequence('artifacts', 'id'), "
                              "(SELECT max(id) FROM artifacts))"))


def test_streamed_and_counted_walks_match_the_list_walks(store: Store) -> None:
    n = 3_000
    parents = _random_dag(n, seed=11)
    children: dict[int, set[int]] = defaultdict(set)
    for child, ps in parents.items():
        for parent in ps:
            children[parent].add(child)
    _insert_dag(store, parents)
    for node in (1, 2, n // 3, n // 2, n - 1, n):
        down = store.descendants(node)
        up = store.ancestors(node)
        assert down == _bfs(node, children) and up == _bfs(node, parents), node
        # A batch smaller than the walk, one that does not divide it, and one larger.
        for batch in (7, 1000, 10_000):
            assert list(store.iter_descendants(node, batch_size=batch)) == down, (node, batch)
            assert list(store.iter_ancestors(node, batch_size=batch)) == up, (node, batch)
        assert store.count_descendants(node) == len(down)
        assert store.count_ancestors(node) == len(up)
    assert list(store.iter_descendants(424242)) == [] and store.count_ancestors(424242) == 0


def test_a_walk_left_half_read_does_not_block_writes(store: Store) -> None:
    _insert_dag(store, {1: set(), **{i: {i - 1} for i in range(2, 500)}})
    walk = store.iter_descendants(1, batch_size=10)
    try:
        assert [next(walk) for _ in range(3)] == [2, 3, 4]
        added = store.add_artifact(run_id=None, kind="note", stage="test", parents=[499])
    finally:
        walk.close()
    assert store.descendants(498) == [499, added.id]


def _peak(consume: Callable[[], Iterable[int]]) -> tuple[int, int]:
    """(how many ids `consume` gave, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in consume())
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_streamed_walk_holds_a_batch_not_the_whole_walk(store: Store) -> None:
    n = 30_000
    _insert_dag(store, {1: set(), **{i: {i - 1, max(1, i - 7)} for i in range(2, n + 1)}})
    listed, list_peak = _peak(lambda: store.descendants(1))
    streamed, stream_peak = _peak(lambda: store.iter_descendants(1, batch_size=500))
    assert listed == streamed == n - 1
    # The list walk holds 30,000 ids and their rows; the stream one batch of 500.
    assert stream_peak * 4 < list_peak, (stream_peak, list_peak)


def test_rollback_and_review_use_the_walks(store: Store) -> None:
    """A flaw upstream of a request (found by the existence walk) rolls back downstream."""
    _insert_dag(store, {1: set(), 2: {1}, 3: {2}, 4: {3}, 5: set()})
    with store.engine.begin() as conn:
        conn.execute(insert(ArtifactEvent), [
            {"artifact_id": i, "status": "ok", "reason": "created"} for i in range(1, 6)
        ])
    flaw = store.add_flaw(artifact_id=2, category="other", severity="major", description="d")
    request = store.add_review_request(artifact_id=4, reason="check")
    done = store.add_review_label(
        request_id=request, decision=ReviewDecision.CONFIRM, reviewer="alice", flaw_id=flaw.id,
        rollback=Rollback(artifact_id=2, flawed_reason="f", tainted_reason="t"),
    )
    assert done.rollback is not None and done.rollback.tainted == (3, 4)
    other = store.add_review_request(artifact_id=5, reason="unrelated")
    with pytest.raises(DataError, match="neither"):
        store.add_review_label(request_id=other, decision=ReviewDecision.CONFIRM,
                               reviewer="bob", flaw_id=flaw.id)
