"""The provenance graph around an artifact: layered, depth-limited, at most `per_layer` nodes a
layer (the rest counted), every node a link; readable at a few hundred nodes."""

from __future__ import annotations

import re

from autoalign.store import Store
from autoalign.web._graph import neighbourhood, render_svg


def _add(store: Store, *parents: int, title: str | None = None) -> int:
    return store.add_artifact(run_id=None, kind="note", stage="test", parents=parents,
                              title=title).id


def test_layers_by_distance_up_and_down(store: Store) -> None:
    a = _add(store)
    b = _add(store, a)
    c = _add(store, b)
    d = _add(store, c)
    e = _add(store, d)
    graph = neighbourhood(store, c, depth=1)
    assert {n: graph.nodes[n].layer for n in graph.nodes} == {b: -1, c: 0, d: 1}
    graph = neighbourhood(store, c, depth=2)
    assert {n: graph.nodes[n].layer for n in graph.nodes} == {a: -2, b: -1, c: 0, d: 1, e: 2}
    assert sorted((x.child_id, x.parent_id) for x in graph.edges) == [
        (b, a), (c, b), (d, c), (e, d)]


def test_a_wide_graph_stays_readable(store: Store) -> None:
    root = _add(store)
    middle = [_add(store, root) for _ in range(300)]
    leaves = [_add(store, m) for m in middle[:50]]
    graph = neighbourhood(store, root, depth=3, per_layer=40)
    assert len(graph.nodes) == 1 + 40 + 40
    # the walk goes on from the 40 drawn children only: 40 of the 50 leaves
    assert graph.left_out == {1: 260}
    svg = render_svg(graph)
    assert svg.count("<rect") == 81 and "+260 more not drawn" in svg
    links = set(re.findall(r'href="/artifacts/(\d+)"', svg))
    assert links == {str(i) for i in graph.nodes}
    # at most 41 rows a column: the drawing's height does not grow with the hidden nodes
    height = int(re.search(r'height="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    assert height < 42 * 50
    assert set(leaves[:40]) <= set(graph.nodes) and leaves[45] not in graph.nodes


def test_titles_are_escaped_in_the_svg(store: Store) -> None:
    a = _add(store, title='<script>alert(1)</script>')
    svg = render_svg(neighbourhood(store, a))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
