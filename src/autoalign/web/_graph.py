"""The provenance graph around an artifact, laid out in layers and drawn as SVG on the server.

Layer 0 holds the artifact; layer -k what it was made from k steps up, layer +k what was built
from it k steps down. The walk stops at `depth` steps each way and keeps at most `per_layer`
nodes in a layer (the lowest ids; a "+N more" box says what was left out), so a graph of a few
hundred nodes stays readable: a column per layer, a row per node, edges between neighbouring
layers only. Every node is a link to its artifact page. No script, no inline style (the
Content-Security-Policy forbids both): presentation attributes only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from ..store import EdgeRecord, Store

NODE_W = 190
NODE_H = 34
COL_GAP = 70
ROW_GAP = 10
PAD = 12

STATUS_FILL = {
    "flawed": "#f4c7c3",
    "tainted": "#fde2b8",
    "failed": "#e6e6e6",
}
"""Node colours by status; anything else is white."""


@dataclass(frozen=True, kw_only=True)
class Node:
    """One artifact in the drawing."""

    id: int
    kind: str
    status: str
    title: str
    layer: int


@dataclass(kw_only=True)
class Graph:
    """A laid-out provenance neighbourhood."""

    center: int
    nodes: dict[int, Node] = field(default_factory=dict)
    edges: list[EdgeRecord] = field(default_factory=list)
    left_out: dict[int, int] = field(default_factory=dict)
    """Per layer, how many nodes were not drawn (over `per_layer`)."""


def neighbourhood(store: Store, artifact_id: int, *, depth: int = 3, per_layer: int = 40) -> Graph:
    """The artifact, what it was made from and what was built from it, `depth` steps each way.

    Raises:
        DataError: no artifact `artifact_id`.
    """
    center = store.artifact(artifact_id)
    layers: dict[int, list[int]] = {0: [center.id]}
    seen = {center.id}
    edges: dict[tuple[int, int], EdgeRecord] = {}
    left_out: dict[int, int] = {}
    for sign, direction in ((-1, "up"), (1, "down")):
        frontier = [center.id]
        for step in range(1, depth + 1):
            if not frontier:
                break
            found = store.edges_touching(frontier, direction="up" if sign < 0 else "down")
            nxt: list[int] = []
            for e in found:
                other = e.parent_id if direction == "up" else e.child_id
                if other in seen:
                    if other in _flat(layers):
                        edges[(e.child_id, e.parent_id)] = e
                    continue
                nxt.append(other)
                edges[(e.child_id, e.parent_id)] = e
            unique = sorted(set(nxt))
            kept = unique[:per_layer]
            if len(unique) > per_layer:
                left_out[sign * step] = len(unique) - per_layer
            layers[sign * step] = kept
            seen.update(unique)
            frontier = kept
    drawn = _flat(layers)
    records = {a.id: a for a in store.artifact_summaries(ids=sorted(drawn))}
    statuses = {a.id: a.status for a in records.values()}
    graph = Graph(center=center.id, left_out=left_out)
    for layer, ids in layers.items():
        for i in ids:
            summary = records.get(i)
            graph.nodes[i] = Node(
                id=i,
                kind=summary.kind if summary else "?",
                status=statuses.get(i, "?"),
                title=(summary.title or "") if summary else "",
                layer=layer,
            )
    graph.edges = [e for e in edges.values() if e.child_id in drawn and e.parent_id in drawn]
    return graph


def _flat(layers: dict[int, list[int]]) -> set[int]:
    return {i for ids in layers.values() for i in ids}


def render_svg(graph: Graph) -> str:
    """The graph as an SVG element: a column per layer (made-from on the left), nodes linked to
    their artifact pages, edges labelled by relation in their tooltip."""
    columns = sorted({n.layer for n in graph.nodes.values()})
    col_x = {layer: PAD + i * (NODE_W + COL_GAP) for i, layer in enumerate(columns)}
    by_layer: dict[int, list[Node]] = {}
    for n in sorted(graph.nodes.values(), key=lambda n: (n.kind, n.id)):
        by_layer.setdefault(n.layer, []).append(n)
    pos: dict[int, tuple[int, int]] = {}
    rows = 1
    for layer, nodes in by_layer.items():
        extra = 1 if layer in graph.left_out else 0
        rows = max(rows, len(nodes) + extra)
        for r, n in enumerate(nodes):
            pos[n.id] = (col_x[layer], PAD + r * (NODE_H + ROW_GAP))
    width = PAD * 2 + len(columns) * NODE_W + (len(columns) - 1) * COL_GAP
    height = PAD * 2 + rows * (NODE_H + ROW_GAP)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="provenance" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="provenance graph around artifact {graph.center}">'
    ]
    for e in graph.edges:
        if e.parent_id not in pos or e.child_id not in pos:
            continue
        px, py = pos[e.parent_id]
        cx, cy = pos[e.child_id]
        x1, y1, x2, y2 = px + NODE_W, py + NODE_H // 2, cx, cy + NODE_H // 2
        if x2 <= x1:  # an edge within a layer (a diamond reached both ways): a side hop
            x1, x2 = px, cx
        out.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#8a8a8a" '
            f'stroke-width="1"><title>{escape(e.relation)}: {e.child_id} from '
            f"{e.parent_id}</title></line>"
        )
    for n in graph.nodes.values():
        x, y = pos[n.id]
        fill = STATUS_FILL.get(n.status, "#ffffff")
        stroke, width_ = ("#1a4f8b", 3) if n.id == graph.center else ("#444444", 1)
        label = f"{n.id} {n.kind}"
        sub = n.title or n.status
        out.append(
            f'<a href="/artifacts/{n.id}"><title>{escape(label)} ({escape(n.status)}): '
            f"{escape(n.title)}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="4" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width_}"/>'
            f'<text x="{x + 6}" y="{y + 14}" font-size="12" font-family="sans-serif" '
            f'fill="#111111">{escape(_clip(label, 28))}</text>'
            f'<text x="{x + 6}" y="{y + 28}" font-size="10" font-family="sans-serif" '
            f'fill="#555555">{escape(_clip(sub, 34))}</text></a>'
        )
    for layer, more in graph.left_out.items():
        x = col_x[layer]
        y = PAD + len(by_layer.get(layer, [])) * (NODE_H + ROW_GAP)
        out.append(
            f'<text x="{x + 6}" y="{y + 20}" font-size="12" font-family="sans-serif" '
            f'fill="#a33">+{more} more not drawn</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
