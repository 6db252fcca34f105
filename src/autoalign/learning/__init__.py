"""Critics that learn: labels, online updates, load-bearing re-checks, A/B tests of components
and progressive log erasure (`docs/learning.md`).

Labels of three kinds (artificial, organic, semi-organic) are collected into one table; every
update made from them (a flaw library, a recalibration of stated probabilities, refitted judge
weights, a fine-tuned model) is a new critic version, and every result names the version that
produced it. Nothing here prints.
"""

# A/B tests of components (`autoalign ab run`, `autoalign ab report`).
from ._ab_config import AbConfig, ArmConfig, load_ab_config, parse_ab_config
from ._ab_report import AbReport, ab_markdown, build_ab_report, write_ab_figure, write_ab_report
from ._ab_run import AbRunSummary, AbTask, ab_tasks, run_ab, run_ab_sync
from ._ab_stats import (
    BrierDifference,
    Pair,
    PairedDifference,
    SequentialResult,
    brier_difference,
    mixture_log_lr,
    mixture_sprt,
    newcombe_paired,
    paired_difference,
)
from ._ab_views import FULL, View, register_view, view, view_names

# -- Expensive checks where they matter (part CK): deeper reviews of load-bearing papers ------
from ._checks import (
    REVIEW_KINDS,
    CheckYield,
    LoadBearing,
    Share,
    case_metrics,
    check_yield,
    load_bearing,
    schedule_load_bearing,
)

# Learning curves (part LC): the nearest-neighbour learner and the curve.
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

# _finetune and _weights: fine-tuning elsewhere and judge weights (part JW).
from ._finetune import Export, export_digest, export_finetune, register_fine_tuned
from ._knn import KNN_VERSION, FlawExample, KnnCritic, examples_from_labels, fit_knn, units
from ._labels import CRITIC2_REVIEW, SEVERE, Collected, collect_labels

# Judge weights and fine-tuning elsewhere (part JW).
# Recalibration of stated probabilities (`autoalign learn recalibrate`).
from ._recalibrate import (
    MIN_LABELS,
    HeldOut,
    RecalibrationDecision,
    base_version,
    recalibrate,
    recalibration_critics,
    split_by_time,
)
from ._weights import Reliability, WeightsRefit, current_weights, refit_judge_weights

# Learning curves (part LC).

__all__ = [
    "CRITIC2_REVIEW",
    "FULL",
    "KNN",
    "KNN_VERSION",
    "MIN_LABELS",
    "REVIEW_KINDS",
    "SEVERE",
    "AbConfig",
    "AbReport",
    "AbRunSummary",
    "AbTask",
    "ArmConfig",
    "BrierDifference",
    "CheckYield",
    "Collected",
    "CriticCurve",
    "Curve",
    "CurveConfig",
    "CurveFiles",
    "CurvePoint",
    "CurveRun",
    "Export",
    "FlawExample",
    "HeldOut",
    "Judge",
    "KnnCritic",
    "KnnSection",
    "LoadBearing",
    "Pair",
    "PairedDifference",
    "RecalibrationDecision",
    "Reliability",
    "SequentialResult",
    "Share",
    "View",
    "WeightsRefit",
    "ab_markdown",
    "ab_tasks",
    "base_version",
    "brier_difference",
    "build_ab_report",
    "build_curve",
    "case_metrics",
    "check_yield",
    "collect_labels",
    "current_weights",
    "curve_json_schema",
    "curve_model_roles",
    "examples_from_labels",
    "export_digest",
    "export_finetune",
    "fit_knn",
    "judges",
    "known_labels",
    "load_ab_config",
    "load_bearing",
    "load_curve_config",
    "mixture_log_lr",
    "mixture_sprt",
    "newcombe_paired",
    "paired_difference",
    "parse_ab_config",
    "parse_curve_config",
    "recalibrate",
    "recalibration_critics",
    "refit_judge_weights",
    "register_fine_tuned",
    "register_view",
    "round_cases",
    "run_ab",
    "run_ab_sync",
    "run_curve",
    "run_curve_sync",
    "schedule_load_bearing",
    "self_correction_text",
    "split_by_time",
    "units",
    "view",
    "view_names",
    "write_ab_figure",
    "write_ab_report",
    "write_curve",
]
