"""Safety cases bound to live evidence.

A case is a GSN argument in gsn2x's YAML with autoalign's `x-` keys (`_model`), read with the
line of every element (`_load`) and checked (`_check`). Its solutions read metrics from the
research database or a red-team report (`_sources`), and `evaluate` gives every node a status
and a confidence (`_evaluate`). Templates (`_templates`), snapshots over time and change impact
(`_history`), and renderings (`_render`) build on that. Nothing here prints. `docs/safety-case.md`
documents the format and the semantics.
"""

from ._check import IN_CONTEXT_OF, SUPPORTED_BY, check
from ._evaluate import Evaluation, Figure, NodeResult, case_digest, evaluate
from ._history import (
    Change,
    Moved,
    Reevaluation,
    artifact_metrics,
    diff,
    evaluate_registered,
    impact,
    reevaluate_registered,
    save_snapshot,
    snapshot_evaluation,
    sources_for,
)
from ._load import Loaded, Positions, Problem, load_case, load_text, parse_text
from ._model import (
    FORMAT_VERSION,
    Case,
    Dependence,
    Element,
    ElementType,
    Evidence,
    Module,
    duration_seconds,
    element_type,
)
from ._paths import MetricPath, parse_path
from ._render import (
    FORMATS,
    export_gsn2x,
    layers,
    render_html,
    render_mermaid,
    render_summary,
    render_svg,
    summary_paragraphs,
)
from ._sources import DB_METRICS, Missing, Reading, Sources
from ._templates import TEMPLATES, Bindings, bindings_from_report, render_template
from ._text import figure_reading, figure_text, node_line, tree_lines

__all__ = [
    "DB_METRICS",
    "FORMATS",
    "FORMAT_VERSION",
    "IN_CONTEXT_OF",
    "SUPPORTED_BY",
    "TEMPLATES",
    "Bindings",
    "Case",
    "Change",
    "Dependence",
    "Element",
    "ElementType",
    "Evaluation",
    "Evidence",
    "Figure",
    "Loaded",
    "MetricPath",
    "Missing",
    "Module",
    "Moved",
    "NodeResult",
    "Positions",
    "Problem",
    "Reading",
    "Reevaluation",
    "Sources",
    "artifact_metrics",
    "bindings_from_report",
    "case_digest",
    "check",
    "diff",
    "duration_seconds",
    "element_type",
    "evaluate",
    "evaluate_registered",
    "export_gsn2x",
    "figure_reading",
    "figure_text",
    "impact",
    "layers",
    "load_case",
    "load_text",
    "node_line",
    "parse_path",
    "parse_text",
    "reevaluate_registered",
    "render_html",
    "render_mermaid",
    "render_summary",
    "render_svg",
    "render_template",
    "save_snapshot",
    "snapshot_evaluation",
    "sources_for",
    "summary_paragraphs",
    "tree_lines",
]
