"""Critics that learn: labels, online updates, load-bearing re-checks, A/B tests of components
and progressive log erasure (`docs/learning.md`).

Labels of three kinds (artificial, organic, semi-organic) are collected into one table; every
update made from them (a flaw library, a recalibration of stated probabilities, refitted judge
weights, a fine-tuned model) is a new critic version, and every result names the version that
produced it. Nothing here prints.
"""

# Learning curves (task LC): the nearest-neighbour learner and the curve.
from ._curve import CurveRun, Judge, judges, known_labels, round_cases, run_curve, run_curve_sync
from ._curve import model_roles as curve_model_roles
from ._curve_config import KNN, CurveConfig, KnnSection, load_curve_config, parse_curve_config
from ._curve_report import (
    CriticCurve,
    Curve,
    CurveFiles,
    CurvePoint,
    build_curve,
    curve_json_schema,
    self_correction_text,
    write_curve,
)
from ._knn import KNN_VERSION, FlawExample, KnnCritic, examples_from_labels, fit_knn, units
from ._labels import CRITIC2_REVIEW, SEVERE, Collected, collect_labels

__all__ = ["CRITIC2_REVIEW", "SEVERE", "Collected", "collect_labels"]
# Learning curves (task LC).
__all__ += [
    "KNN",
    "KNN_VERSION",
    "CriticCurve",
    "Curve",
    "CurveConfig",
    "CurveFiles",
    "CurvePoint",
    "CurveRun",
    "FlawExample",
    "Judge",
    "KnnCritic",
    "KnnSection",
    "build_curve",
    "curve_json_schema",
    "curve_model_roles",
    "examples_from_labels",
    "fit_knn",
    "judges",
    "known_labels",
    "load_curve_config",
    "parse_curve_config",
    "round_cases",
    "run_curve",
    "run_curve_sync",
    "self_correction_text",
    "units",
    "write_curve",
]
