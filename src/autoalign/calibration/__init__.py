"""Calibration of the pipeline's claims against testbed ground truth.

Pure statistics on numpy arrays (Brier score, log loss, equal-mass ECE, reliability bins with
Wilson intervals, percentile bootstrap), `score_claims` to score the research database, and
`reliability_diagram` to draw the result; `fit_map` and `apply_map` recalibrate a critic's stated
probabilities (Platt, isotonic). Claims are scored overall and, in
`CalibrationReport.groups`, separately by source (a study's formula, the pipeline's agents) and by
model. Definitions and caveats: `docs/statistics.md`.
"""

from ._claims import TruthFor, score_claims, testbed_ground_truth
from ._diagram import reliability_diagram
from ._metrics import (
    BootstrapInterval,
    Interval,
    ReliabilityBin,
    bootstrap_interval,
    brier_score,
    equal_mass_bins,
    expected_calibration_error,
    log_loss,
    reliability_bins,
    wilson_interval,
)
from ._recalibrate import (
    METHODS,
    PLATT_EPS,
    Method,
    apply_map,
    apply_map_many,
    fit_isotonic,
    fit_map,
    fit_platt,
    paired_log_loss_difference,
)
from ._report import (
    MIN_N_FOR_INTERVAL,
    CalibrationReport,
    GroupBy,
    GroupReport,
    Score,
    ScoredClaim,
    SkippedClaim,
    SkipReason,
    Statistic,
    calibrate,
)

__all__ = [
    "METHODS",
    "MIN_N_FOR_INTERVAL",
    "PLATT_EPS",
    "BootstrapInterval",
    "CalibrationReport",
    "GroupBy",
    "GroupReport",
    "Interval",
    "Method",
    "ReliabilityBin",
    "Score",
    "ScoredClaim",
    "SkipReason",
    "SkippedClaim",
    "Statistic",
    "TruthFor",
    "apply_map",
    "apply_map_many",
    "bootstrap_interval",
    "brier_score",
    "calibrate",
    "equal_mass_bins",
    "expected_calibration_error",
    "fit_isotonic",
    "fit_map",
    "fit_platt",
    "log_loss",
    "paired_log_loss_difference",
    "reliability_bins",
    "reliability_diagram",
    "score_claims",
    "testbed_ground_truth",
    "wilson_interval",
]
