"""Property test: the provenance walks agree with a reference walk on random DAGs."""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoalign.store import Store

MAX_NODES = 14


@st.composite
def dags(draw: st.DrawFn) -> list[list[int]]:
    """A DAG as, per node, the indices of its parents (always earlier nodes)."""
    n = draw(st.integers(min_value=1, max_value=MAX_NODES))
    return [
        sorted(draw(st.sets(st.integers(0, i - 1), max_size=min(i, 4)))) if i else []
        for i in range(n)
    ]


def _reach(start: int, step: dict[int, list[int]]) -> list[int]:
    """Every node reachable from `start` along `step`, not `start` itself, ascending."""
    seen: set[int] = set()
    todo = deque(step[start])
    while todo:
        node = todo.popleft()
        if node not in seen:
            seen.add(node)
            todo.extend(step[node])
    return sorted(seen)


# The store is shared by every example: each example's DAG is new artifacts, unlinked to earlier
# ones, so the walks of one example never reach another's.
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(dag=dags())
def test_walks_match_a_reference_walk_on_random_dags(store: Store, dag: list[list[int]]) -> None:
    ids: list[int] = []
    for parents in dag:
        record = store.add_artifact(
            run_id=None, kind="note", stage="test", parents=[ids[p] for p in parents]
        )
        ids.append(record.id)
    up = {ids[i]: [ids[p] for p in parents] for i, parents in enumerate(dag)}
    down: dict[int, list[int]] = {node: [] for node in ids}
    for child, parents in up.items():
        for parent in parents:
            down[parent].append(child)
    for node in ids:
        assert store.ancestors(node) == _reach(node, up)
        assert store.descendants(node) == _reach(node, down)
