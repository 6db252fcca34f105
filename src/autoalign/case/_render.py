"""Renderings of an evaluated case: a self-contained SVG (and an HTML page around it) with each
node coloured by status and its evidence figures, Mermaid for Markdown, a one-page summary in
words, and plain gsn2x YAML with every `x-` key stripped.

The SVG's layout is computed here: layers by the longest path from a top-level goal (over
supportedBy, inContextOf and challenges), each layer in depth-first order. Every string from the
case or the data is escaped (control characters shown as escapes, then XML-escaped); the page
has no script and no external resource.
"""

from __future__ import annotations

import html
import io
import textwrap

from .._text import visible
from ..vocabulary import CaseStatus
from ._evaluate import Evaluation, NodeResult
from ._model import Case, ElementType
from ._text import figure_text

FILL = {
    CaseStatus.SUPPORTED: "#c8e6c9", CaseStatus.DEFEATED: "#ffcdd2",
    CaseStatus.UNDECIDED: "#fff9c4", CaseStatus.STALE: "#e1bee7",
}
STROKE = {
    CaseStatus.SUPPORTED: "#2e7d32", CaseStatus.DEFEATED: "#c62828",
    CaseStatus.UNDECIDED: "#f9a825", CaseStatus.STALE: "#6a1b9a",
}
WIDTH, HEIGHT, GAP_X, GAP_Y, PAD = 230, 120, 30, 60, 20
WRAP = 34


def _x(text: object) -> str:
    """Escaped for XML and HTML: control characters as escapes, then entities."""
    return html.escape(visible(str(text), keep_breaks=False), quote=True)


def layers(evaluation: Evaluation) -> list[list[str]]:
    """Node ids by layer: the longest path from a node with no incoming link (over
    supportedBy, inContextOf and challenger → challenged), each layer in depth-first order."""
    nodes = evaluation.nodes
    edges: dict[str, list[str]] = {
        i: [*n.children, *n.context, *n.challenged_by] for i, n in nodes.items()
    }
    incoming = {t for targets in edges.values() for t in targets}
    starts = [*evaluation.roots, *[i for i in nodes if i not in incoming
                                   and i not in evaluation.roots]]
    depth: dict[str, int] = {}
    order: list[str] = []

    def visit(eid: str, d: int) -> None:
        if depth.get(eid, -1) >= d:
            return
        depth[eid] = d
        if eid not in order:
            order.append(eid)
        for nxt in edges[eid]:
            visit(nxt, d + 1)

    for s in starts:
        visit(s, 0)
    for eid in nodes:  # anything left (cannot happen after the checks) at the top
        if eid not in depth:
            depth[eid] = 0
            order.append(eid)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for eid in order:
        out[depth[eid]].append(eid)
    return out


def _shape(node: NodeResult, x: float, y: float) -> str:
    fill, stroke = FILL[node.status], STROKE[node.status]
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="2"'
    w, h = WIDTH, HEIGHT
    if node.type is ElementType.STRATEGY:
        k = 14
        pts = f"{x + k},{y} {x + w},{y} {x + w - k},{y + h} {x},{y + h}"
        return f'<polygon points="{pts}" {style}/>'
    if node.type in (ElementType.SOLUTION, ElementType.ASSUMPTION, ElementType.JUSTIFICATION,
                     ElementType.COUNTER_SOLUTION):
        return (f'<ellipse cx="{x + w / 2}" cy="{y + h / 2}" rx="{w / 2}" ry="{h / 2}" '
                f'{style}/>')
    radius = 14 if node.type is ElementType.CONTEXT else 0
    if node.type is ElementType.COUNTER_GOAL:
        style += ' stroke-dasharray="8,3"'
    return f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{radius}" {style}/>'


def _label(node: NodeResult) -> list[str]:
    conf = "" if node.confidence is None else f"  conf {node.confidence:.3g}"
    lines = [f"{node.id} · {node.status}{conf}"]
    lines += textwrap.wrap(node.text, WRAP)[:3]
    if node.figure is not None:
        lines += textwrap.wrap(figure_text(node.figure).split("; from ")[0], WRAP)[:3]
    elif node.type in (ElementType.GOAL, ElementType.STRATEGY, ElementType.COUNTER_GOAL):
        lines += textwrap.wrap(node.reason, WRAP)[:2]
    return lines[:7]


def render_svg(evaluation: Evaluation) -> str:
    """A self-contained SVG of the evaluated case."""
    rows = layers(evaluation)
    widest = max((len(r) for r in rows), default=1)
    total_w = PAD * 2 + widest * WIDTH + (widest - 1) * GAP_X
    total_h = PAD * 2 + len(rows) * HEIGHT + (len(rows) - 1) * GAP_Y + 30
    pos: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        row_w = len(row) * WIDTH + (len(row) - 1) * GAP_X
        x0 = (total_w - row_w) / 2
        for c, eid in enumerate(row):
            pos[eid] = (x0 + c * (WIDTH + GAP_X), PAD + r * (HEIGHT + GAP_Y))
    out = io.StringIO()
    out.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" '
              f'height="{total_h:.0f}" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
              'font-family="sans-serif" font-size="11">\n')
    out.write(f"<title>{_x(evaluation.case_name)}: safety case</title>\n")
    out.write('<defs><marker id="solid" viewBox="0 0 10 10" refX="10" refY="5" '
              'markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
              'fill="#333"/></marker><marker id="hollow" viewBox="0 0 10 10" refX="10" '
              'refY="5" markerWidth="8" markerHeight="8" orient="auto"><path '
              'd="M0,0 L10,5 L0,10 z" fill="white" stroke="#333"/></marker></defs>\n')
    for eid, node in evaluation.nodes.items():
        x, y = pos[eid]
        for kind, targets in (("solid", node.children), ("hollow", node.context),
                              ("challenge", node.challenged_by)):
            for t in targets:
                tx, ty = pos[t]
                if kind == "challenge":  # from the challenger to the challenged
                    out.write(f'<line x1="{tx + WIDTH / 2}" y1="{ty}" x2="{x + WIDTH / 2}" '
                              f'y2="{y + HEIGHT}" stroke="#c62828" stroke-width="2" '
                              'stroke-dasharray="6,4" marker-end="url(#solid)"/>\n')
                    continue
                out.write(f'<line x1="{x + WIDTH / 2}" y1="{y + HEIGHT}" x2="{tx + WIDTH / 2}" '
                          f'y2="{ty}" stroke="#333" marker-end="url(#{kind})"/>\n')
    for eid, node in evaluation.nodes.items():
        x, y = pos[eid]
        out.write(f'<g class="node {node.status}" id="node-{_x(eid)}">')
        out.write(f"<title>{_x(node.reason)}</title>")
        out.write(_shape(node, x, y))
        lines = _label(node)
        top = y + HEIGHT / 2 - (len(lines) - 1) * 7
        for i, line in enumerate(lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            out.write(f'<text x="{x + WIDTH / 2}" y="{top + i * 14}" text-anchor="middle"'
                      f'{weight}>{_x(line)}</text>')
        out.write("</g>\n")
    legend_y = total_h - 12
    for i, status in enumerate(CaseStatus):
        lx = PAD + i * 110
        out.write(f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" '
                  f'fill="{FILL[status]}" stroke="{STROKE[status]}"/>'
                  f'<text x="{lx + 16}" y="{legend_y}">{status.value}</text>\n')
    out.write("</svg>\n")
    return out.getvalue()


def render_html(evaluation: Evaluation) -> str:
    """One self-contained page: the summary, the SVG, and a table of every node's figures
    (inline style, no script, no external resource)."""
    rows = []
    for node in evaluation.nodes.values():
        figure = figure_text(node.figure) if node.figure is not None else ""
        conf = "" if node.confidence is None else f"{node.confidence:.3g}"
        rows.append(
            f'<tr style="background:{FILL[node.status]}"><td>{_x(node.id)}</td>'
            f"<td>{_x(node.type.value)}</td><td><b>{_x(node.status.value)}</b></td>"
            f"<td>{_x(conf)}</td><td>{_x(node.text)}</td><td>{_x(node.reason)}</td>"
            f"<td>{_x(figure)}</td></tr>"
        )
    summary = "".join(f"<p>{_x(p)}</p>" for p in summary_paragraphs(evaluation))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{_x(evaluation.case_name)}: safety case</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px;vertical-align:top;font-size:13px}</style>"
        f"</head><body><h1>Safety case {_x(evaluation.case_name)}</h1>{summary}"
        f"<div style=\"overflow:auto\">{render_svg(evaluation)}</div>"
        "<h2>Nodes</h2><table><tr><th>id</th><th>type</th><th>status</th><th>confidence</th>"
        "<th>claim</th><th>why</th><th>evidence (estimate, interval, n, method)</th></tr>"
        + "".join(rows) + "</table></body></html>\n"
    )


def _mermaid_text(text: str) -> str:
    cleaned = visible(text, keep_breaks=False)
    return html.escape(cleaned, quote=True).replace("[", "&#91;").replace("]", "&#93;")


def render_mermaid(evaluation: Evaluation) -> str:
    """A Mermaid flowchart (for Markdown): nodes by type's shape, styled by status."""
    lines = ["```mermaid", "flowchart TD"]
    for eid, node in evaluation.nodes.items():
        conf = "" if node.confidence is None else f" conf {node.confidence:.3g}"
        label = f"{eid} {node.status.value}{conf}<br/>{textwrap.shorten(node.text, 80)}"
        if node.figure is not None and node.figure.reading is not None:
            label += f"<br/>{figure_text(node.figure).split('; from ')[0]}"
        text = _mermaid_text(label).replace("&lt;br/&gt;", "<br/>")
        key = _mermaid_id(eid)
        open_, close = {
            ElementType.STRATEGY: ("[/", "/]"), ElementType.SOLUTION: ("((", "))"),
            ElementType.CONTEXT: ("(", ")"), ElementType.ASSUMPTION: ("([", "])"),
            ElementType.JUSTIFICATION: ("([", "])"), ElementType.COUNTER_SOLUTION: ("((", "))"),
        }.get(node.type, ("[", "]"))
        lines.append(f'    {key}{open_}"{text}"{close}')
        lines.append(f"    class {key} {node.status.value}")
    for eid, node in evaluation.nodes.items():
        for t in node.children:
            lines.append(f"    {_mermaid_id(eid)} --> {_mermaid_id(t)}")
        for t in node.context:
            lines.append(f"    {_mermaid_id(eid)} -.-> {_mermaid_id(t)}")
        for t in node.challenged_by:
            lines.append(f"    {_mermaid_id(t)} -. challenges .-x {_mermaid_id(eid)}")
    for status in CaseStatus:
        lines.append(f"    classDef {status.value} fill:{FILL[status]},stroke:{STROKE[status]}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _mermaid_id(eid: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in eid)


def summary_paragraphs(evaluation: Evaluation) -> list[str]:
    """The case in words: the top claims' status and confidence, what defeats or blocks them,
    and the evidence behind them (each number with its n and interval)."""
    nodes = evaluation.nodes
    counts = {s: sum(n.status is s for n in nodes.values()) for s in CaseStatus}
    out = []
    for root in evaluation.roots:
        node = nodes[root]
        conf = ("" if node.confidence is None
                else f", with confidence at least {node.confidence:.3g}")
        out.append(f"Top claim {root} ({node.text}) is {node.status.value}{conf}: "
                   f"{node.reason}.")
    out.append(f"Of {len(nodes)} elements, " + ", ".join(
        f"{v} {k.value}" for k, v in counts.items() if v) + ".")
    defeated = [n for n in nodes.values() if n.status is CaseStatus.DEFEATED
                and (n.figure is not None or n.challenged_by or n.type is ElementType.ASSUMPTION)]
    if defeated:
        out.append("Defeated at the source: " + "; ".join(
            f"{n.id} ({n.reason})" for n in defeated) + ".")
    open_ = [n for n in nodes.values() if n.status in (CaseStatus.UNDECIDED, CaseStatus.STALE)
             and (n.figure is not None or n.reason == "undeveloped")]
    if open_:
        out.append("Open: " + "; ".join(f"{n.id} {n.status.value} ({n.reason})"
                                        for n in open_) + ".")
    held = [n for n in nodes.values() if n.status is CaseStatus.SUPPORTED
            and n.figure is not None]
    if held:
        out.append("Supported by evidence: " + "; ".join(
            f"{n.id} ({figure_text(n.figure)})" for n in held if n.figure is not None) + ".")
    return out


def render_summary(evaluation: Evaluation) -> str:
    """The one-page summary in words, as plain text."""
    wrapped = [textwrap.fill(p, 100) for p in summary_paragraphs(evaluation)]
    return f"Safety case {evaluation.case_name}\n\n" + "\n\n".join(wrapped) + "\n"


def export_gsn2x(case: Case) -> str:
    """The case as plain gsn2x YAML: every `x-` key (top level and per element) left out."""
    from ruamel.yaml import YAML

    data: dict[str, object] = {}
    if case.module is not None:
        data["module"] = case.module.model_dump(exclude_none=True)
    for eid, el in case.elements.items():
        dumped = el.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True,
                               exclude={"evidence", "dependence"})
        dumped["text"] = el.text
        data[eid] = {k: v for k, v in dumped.items() if not k.startswith("x-")}
    yaml = YAML(typ="rt")
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


FORMATS: tuple[str, ...] = ("svg", "html", "mermaid", "summary", "gsn2x")
"""Every rendering `autoalign case render` writes."""


__all__ = [
    "FORMATS",
    "export_gsn2x",
    "layers",
    "render_html",
    "render_mermaid",
    "render_summary",
    "render_svg",
    "summary_paragraphs",
]
