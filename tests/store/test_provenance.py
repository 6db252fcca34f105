"""Provenance walks (recursive CTEs) against hand-built DAGs and a 10,000-artifact one."""

from __future__ import annotations

import random
import time
from collections import defaultdict, deque
from typing import Literal

import pytest
from sqlalchemy import insert

from autoalign.store import Store
from autoalign.store._provenance import walk_query
from autoalign.store._schema import Artifact, ProvenanceEdge


def _add(store: Store, *parents: int) -> int:
    return store.add_artifact(run_id=None, kind="note", stage="test", parents=parents).id


def test_walks_through_diamonds(store: Store) -> None:
    #        a        f (alone)
    #       / \
    #      b   c
    #       \ /
    #        d
    #       / \
    #      e   g  (g also comes straight from a)
    a = _add(store)
    b = _add(store, a)
    c = _add(store, a)
    d = _add(store, b, c)
    e = _add(store, d)
    f = _add(store)
    g = _add(store, d, a)

    assert store.ancestors(e) == [a, b, c, d]
    assert store.ancestors(g) == [a, b, c, d]
    assert store.ancestors(d) == [a, b, c]
    assert store.ancestors(a) == []
    assert store.descendants(a) == [b, c, d, e, g]
    assert store.descendants(b) == [d, e, g]
    assert store.descendants(e) == []
    assert store.ancestors(f) == store.descendants(f) == []


def test_walks_of_an_unknown_id_are_empty(store: Store) -> None:
    assert store.ancestors(424242) == store.descendants(424242) == []


def test_a_ladder_of_diamonds_is_walked_once_per_node(store: Store) -> None:
    """60 diamonds in a row have 2**60 paths; a walk that kept duplicates would never end."""
    top = bottom = _add(store)
    middles: list[int] = []
    for _ in range(60):
        left, right = _add(store, bottom), _add(store, bottom)
        middles += [left, right]
        bottom = _add(store, left, right)
    everything = set(range(top, bottom + 1))
    assert store.descendants(top) == sorted(everything - {top})
    assert store.ancestors(bottom) == sorted(everything - {bottom})
    assert set(middles) < everything


def _random_dag(n: int, seed: int) -> dict[int, set[int]]:
    """Parents of each node 1..n: mostly recent nodes (deep chains, many diamonds), sometimes
    any earlier node (long-range shortcuts); a few roots besides node 1."""
    rng = random.Random(seed)
    parents: dict[int, set[int]] = {1: set()}
    for node in range(2, n + 1):
        if rng.random() < 0.002:
            parents[node] = set()
            continue
        count = rng.choice((1, 1, 2, 2, 3))
        chosen = {rng.randint(max(1, node - 30), node - 1) for _ in range(count)}
        if rng.random() < 0.1:
            chosen.add(rng.randint(1, node - 1))
        parents[node] = chosen
    return parents


def _bfs(start: int, neighbours: dict[int, set[int]]) -> list[int]:
    seen: set[int] = set()
    queue = deque(neighbours[start])
    while queue:
        node = queue.popleft()
        if node not in seen:
            seen.add(node)
            queue.extend(neighbours[node])
    return sorted(seen - {start})


def test_walks_of_a_10k_dag_match_a_reference_bfs(store: Store) -> None:
    n = 10_000
    parents = _random_dag(n, seed=20240611)
    children: dict[int, set[int]] = defaultdict(set)
    for child, ps in parents.items():
        for parent in ps:
            children[parent].add(child)
    edges = [{"child_id": c, "parent_id": p} for c, ps in parents.items() for p in ps]
    with store.engine.begin() as conn:
        conn.execute(
            insert(Artifact),
            [
                {"id": i, "kind": "note", "stage": "test", "initial_status": "ok"}
                for i in range(1, n + 1)
            ],
        )
        conn.execute(insert(ProvenanceEdge), edges)

    rng = random.Random(7)
    probes = {1, 2, n // 2, n - 1, n, *rng.sample(range(1, n + 1), 10)}
    for node in sorted(probes):
        assert store.ancestors(node) == _bfs(node, parents), f"ancestors of {node}"
        assert store.descendants(node) == _bfs(node, children), f"descendants of {node}"

    # The slowest walks: everything below the first root, everything above the last node.
    timings = {}
    for name, walk, node in (
        ("descendants", store.descendants, 1),
        ("ancestors", store.ancestors, n),
    ):
        started = time.perf_counter()
        reached = walk(node)
        timings[name] = time.perf_counter() - started
        assert len(reached) > n // 2, (name, len(reached))
    print(
        f"\n10k DAG ({len(edges)} edges) on {store.engine.dialect.name}: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items())
    )
    # Generous, to stay quiet on a loaded CI machine; typically tens of milliseconds.
    assert max(timings.values()) < 2.0, timings


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("direction", ["up", "down"])
def test_walks_search_the_edge_indexes(store: Store, direction: Literal["up", "down"]) -> None:
    """SQLite's plan for each step of a walk searches an index; it never scans the edges."""
    query = walk_query(1, direction)
    sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    edge_steps = [step for step in plan if "provenance_edges" in step]
    assert edge_steps, plan
    assert all(step.startswith("SEARCH") for step in edge_steps), plan
