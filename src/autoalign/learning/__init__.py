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

# _finetune and _weights: fine-tuning elsewhere and judge weights (part JW).
from ._finetune import Export, export_digest, export_finetune, register_fine_tuned
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

__all__ = [
    "CRITIC2_REVIEW",
    "FULL",
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
    "Export",
    "HeldOut",
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
    "case_metrics",
    "check_yield",
    "collect_labels",
    "current_weights",
    "export_digest",
    "export_finetune",
    "load_ab_config",
    "load_bearing",
    "mixture_log_lr",
    "mixture_sprt",
    "newcombe_paired",
    "paired_difference",
    "parse_ab_config",
    "recalibrate",
    "recalibration_critics",
    "refit_judge_weights",
    "register_fine_tuned",
    "register_view",
    "run_ab",
    "run_ab_sync",
    "schedule_load_bearing",
    "split_by_time",
    "view",
    "view_names",
    "write_ab_figure",
    "write_ab_report",
]
