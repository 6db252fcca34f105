"""`Store.edges_touching`: the direct edges one step up or down from a set of artifacts (what
the web app's provenance graph is drawn from, a layer at a time)."""

from __future__ import annotations

from autoalign.store import Store


def _add(store: Store, *parents: int) -> int:
    return store.add_artifact(run_id=None, kind="note", stage="test", parents=parents).id


def test_edges_one_step_up_and_down(store: Store) -> None:
    a = _add(store)
    b = _add(store, a)
    c = _add(store, a)
    d = _add(store, b, c)
    e = _add(store, d)
    up = store.edges_touching([d], direction="up")
    assert sorted((x.child_id, x.parent_id) for x in up) == [(d, b), (d, c)]
    down = store.edges_touching([a, b], direction="down")
    assert sorted((x.child_id, x.parent_id) for x in down) == [(b, a), (c, a), (d, b)]
    assert store.edges_touching([e], direction="down") == []
    assert store.edges_touching([], direction="up") == []


def test_more_ids_than_one_batch(store: Store) -> None:
    root = _add(store)
    children = [_add(store, root) for _ in range(1100)]
    edges = store.edges_touching([*children, *children[:5]], direction="up")
    assert len(edges) == 1100 and {x.parent_id for x in edges} == {root}
