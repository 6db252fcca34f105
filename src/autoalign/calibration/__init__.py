"""Calibration of the pipeline's claims against testbed ground truth.

Pure statistics on numpy arrays (Brier score, log loss, equal-mass ECE, reliability bins with
Wilson intervals, percentile bootstrap), `score_claims` to score the research database, and
`reliability_diagram` to draw the result. Claims are scored overall and, in
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
    "MIN_N_FOR_INTERVAL",
    "BootstrapInterval",
    "CalibrationReport",
    "GroupBy",
    "GroupReport",
    "Interval",
    "ReliabilityBin",
    "Score",
    "ScoredClaim",
    "SkipReason",
    "SkippedClaim",
    "Statistic",
    "TruthFor",
    "bootstrap_interval",
    "brier_score",
    "calibrate",
    "equal_mass_bins",
    "expected_calibration_error",
    "log_loss",
    "reliability_bins",
    "reliability_diagram",
    "score_claims",
    "testbed_ground_truth",
    "wilson_interval",
]
