"""Plain-text views of an evaluation: one line per node (for the terminal, escaped by the
caller) and the figure of a solution."""

from __future__ import annotations

from ._evaluate import Evaluation, Figure, NodeResult
from ._sources import Reading


def figure_reading(reading: Reading | None) -> str:
    """`0.71 [0.62, 0.79] n=60` or `none`."""
    if reading is None:
        return "none"
    est = "—" if reading.estimate is None else f"{reading.estimate:.3g}"
    interval = "" if reading.low is None or reading.high is None else (
        f" [{reading.low:.3g}, {reading.high:.3g}]")
    return f"{est}{interval} n={reading.n}"


def figure_text(figure: Figure) -> str:
    """`est 0.71 [0.62, 0.79] 95% n=60 wilson; needs lower >= 0.5; 2.0 d old; from ...`."""
    test = f"{figure.bound} {figure.comparison} {figure.threshold:g}"
    r = figure.reading
    if r is None:
        return f"no reading; needs {test}"
    est = "—" if r.estimate is None else f"{r.estimate:.3g}"
    interval = "" if r.low is None or r.high is None else (
        f" [{r.low:.3g}, {r.high:.3g}]" + (f" {r.level:.0%}" if r.level else ""))
    age = "" if figure.age_days is None else f"; {figure.age_days:.1f} d old"
    return f"est {est}{interval} n={r.n} {r.method}; needs {test}{age}; from {r.origin}"


def node_line(node: NodeResult) -> str:
    """`G1 [supported] conf 0.95: text — reason`."""
    conf = "" if node.confidence is None else f" conf {node.confidence:.3g}"
    return f"{node.id} [{node.status}]{conf}: {node.text}"


def tree_lines(evaluation: Evaluation) -> list[tuple[int, NodeResult, str]]:
    """(depth, node, detail) for every node, depth first from the roots; a node reached twice
    is listed each time; challengers follow the node they challenge; nodes not reached from a
    root come last at depth 0."""
    nodes = evaluation.nodes
    out: list[tuple[int, NodeResult, str]] = []
    seen: set[str] = set()

    def detail(node: NodeResult) -> str:
        parts = [node.reason]
        if node.figure is not None:
            parts.append(figure_text(node.figure))
        if node.rule is not None and node.doubt is not None:
            parts.append(f"doubt {node.doubt:.3g} by {node.rule}")
        return "; ".join(parts)

    def walk(eid: str, depth: int) -> None:
        node = nodes[eid]
        seen.add(eid)
        out.append((depth, node, detail(node)))
        for child in [*node.context, *node.children, *node.challenged_by]:
            walk(child, depth + 1)

    for root in evaluation.roots:
        walk(root, 0)
    for eid in nodes:
        if eid not in seen:
            walk(eid, 0)
    return out


__all__ = ["figure_reading", "figure_text", "node_line", "tree_lines"]
