"""Known answers for each statistic: scikit-learn's, hand-computed and published values, plus
properties of calibrated and overconfident predictions. Every RNG is seeded."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest
from numpy.typing import ArrayLike

# scikit-learn ships no type hints.
from sklearn.calibration import calibration_curve  # type: ignore[import-untyped]
from sklearn.metrics import brier_score_loss  # type: ignore[import-untyped]
from sklearn.metrics import log_loss as sklearn_log_loss

from autoalign.calibration import (
    bootstrap_interval,
    brier_score,
    equal_mass_bins,
    expected_calibration_error,
    log_loss,
    reliability_bins,
    wilson_interval,
)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Perfectly calibrated predictions: p ~ U(0, 1), y ~ Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p).astype(float)
    return p, y


# -- Brier score and log loss against scikit-learn -------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brier_score_equals_scikit_learn(seed: int) -> None:
    p, y = _synthetic(500, seed)
    assert brier_score(p, y) == pytest.approx(brier_score_loss(y, p), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_loss_equals_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, size=500)  # inside both libraries' clipping
    y = rng.integers(0, 2, size=500)
    assert log_loss(p, y) == pytest.approx(sklearn_log_loss(y, p, labels=[0, 1]), rel=1e-12)


def test_brier_and_log_loss_by_hand() -> None:
    p, y = [0.1, 0.9, 0.8], [0, 1, 0]
    assert brier_score(p, y) == pytest.approx((0.01 + 0.01 + 0.64) / 3)
    assert log_loss(p, y) == pytest.approx(-(math.log(0.9) + math.log(0.9) + math.log(0.2)) / 3)


def test_log_loss_clips_a_certain_wrong_prediction_to_eps() -> None:
    assert log_loss([0.0], [1]) == pytest.approx(-math.log(1e-15))
    assert log_loss([1.0], [0], eps=1e-3) == pytest.approx(-math.log(1e-3))
    assert log_loss([1.0, 0.0], [1, 0]) == pytest.approx(-math.log(1 - 1e-15))


# -- expected calibration error --------------------------------------------------------------


def test_ece_by_hand() -> None:
    """10 predictions, 3 bins: sizes 4, 3, 3 (the remainder goes to the first bin).

    bin 1: p 0.05 0.1 0.2 0.3, y 0 0 1 0: |0.25 - 0.1625|  * 4/10 = 0.035
    bin 2: p 0.4 0.6 0.7,      y 1 0 0:   |1/3 - 1.7/3|    * 3/10 = 0.07
    bin 3: p 0.8 0.9 0.95,     y 1 1 1:   |1 - 2.65/3|     * 3/10 = 0.035
    ECE = 0.14
    """
    pairs = [(0.05, 0), (0.1, 0), (0.2, 1), (0.3, 0), (0.4, 1), (0.6, 0), (0.7, 0), (0.8, 1),
             (0.9, 1), (0.95, 1)]
    shuffled = [pairs[i] for i in np.random.default_rng(7).permutation(len(pairs))]
    p = [a for a, _ in shuffled]
    y = [b for _, b in shuffled]

    assert expected_calibration_error(p, y, n_bins=3) == pytest.approx(0.14)
    bins = reliability_bins(p, y, n_bins=3)
    assert [b.count for b in bins] == [4, 3, 3]
    assert [b.positives for b in bins] == [1, 1, 3]
    assert [b.mean_predicted for b in bins] == pytest.approx([0.1625, 1.7 / 3, 2.65 / 3])
    assert [b.observed_frequency for b in bins] == pytest.approx([0.25, 1 / 3, 1.0])
    assert [(b.p_min, b.p_max) for b in bins] == [(0.05, 0.3), (0.4, 0.7), (0.8, 0.95)]


def test_ece_keeps_equal_predictions_in_one_bin() -> None:
    """Sorted p 0.2 0.2 0.7 0.7 0.7 0.7, 3 bins: nominal cuts after 2 and 4; the second falls
    inside the run of 0.7s and moves to its end, so two bins remain.

    bin 1: p 0.2 0.2,         y 0 1:       |0.5 - 0.2|  * 2/6 = 0.1
    bin 2: p 0.7 0.7 0.7 0.7, y 1 1 1 0:   |0.75 - 0.7| * 4/6 = 1/30
    """
    p = np.array([0.7, 0.2, 0.7, 0.7, 0.2, 0.7])
    y = np.array([1, 0, 1, 0, 1, 1])
    assert expected_calibration_error(p, y, n_bins=3) == pytest.approx(0.1 + 1 / 30)
    assert [b.count for b in reliability_bins(p, y, n_bins=3)] == [2, 4]
    # The result does not depend on the order of the claims.
    rng = np.random.default_rng(3)
    for _ in range(5):
        order = rng.permutation(p.size)
        assert expected_calibration_error(p[order], y[order], n_bins=3) == pytest.approx(
            0.1 + 1 / 30
        )


def test_equal_mass_bins_partition_the_indices_in_order_of_prediction() -> None:
    rng = np.random.default_rng(11)
    p = rng.choice([0.1, 0.25, 0.5, 0.6, 0.9], size=103)
    bins = equal_mass_bins(p, 7)
    assert sorted(np.concatenate(bins).tolist()) == list(range(103))
    assert all(b.size > 0 for b in bins)
    for lower, upper in itertools.pairwise(bins):
        assert p[lower].max() < p[upper].min()


def test_equal_mass_bins_without_ties_are_numpy_array_split() -> None:
    p, _ = _synthetic(103, 5)
    bins = equal_mass_bins(p, 10)
    expected = np.array_split(np.argsort(p), 10)
    assert [b.tolist() for b in bins] == [e.tolist() for e in expected]
    assert [b.size for b in bins] == [11, 11, 11, 10, 10, 10, 10, 10, 10, 10]


def test_reliability_bins_match_scikit_learn_quantile_calibration_curve() -> None:
    """With distinct predictions and n divisible by the bin count, scikit-learn's quantile
    strategy makes the same bins."""
    p, y = _synthetic(1000, 8)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    bins = reliability_bins(p, y, n_bins=10)
    assert [b.observed_frequency for b in bins] == pytest.approx(prob_true.tolist())
    assert [b.mean_predicted for b in bins] == pytest.approx(prob_pred.tolist())


def test_ece_with_one_bin_and_with_a_bin_per_prediction() -> None:
    p, y = _synthetic(50, 4)
    assert expected_calibration_error(p, y, n_bins=1) == pytest.approx(abs(y.mean() - p.mean()))
    assert expected_calibration_error(p, y, n_bins=500) == pytest.approx(np.mean(np.abs(y - p)))


def test_calibrated_predictions_have_small_ece_and_overconfident_ones_large() -> None:
    p, y = _synthetic(20_000, 2024)
    ece = partial(expected_calibration_error, n_bins=10)
    calibrated = bootstrap_interval(ece, p, y, n_boot=300, seed=1)
    assert ece(p, y) < 0.015
    assert calibrated.low < 0.015

    # Overconfident: the same outcomes, predictions pushed to the extremes (logit times 3).
    logit = np.log(p / (1 - p))
    pushed = 1 / (1 + np.exp(-3 * logit))
    overconfident = bootstrap_interval(ece, pushed, y, n_boot=300, seed=1)
    assert ece(pushed, y) > 0.1
    assert overconfident.low > 0.1


# -- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_is_the_documented_percentile_bootstrap() -> None:
    p, y = _synthetic(40, 9)
    got = bootstrap_interval(brier_score, p, y, n_boot=200, level=0.9, seed=5)

    rng = np.random.default_rng(5)
    reps = []
    for _ in range(200):
        idx = rng.integers(0, 40, size=40)
        reps.append(np.mean((p[idx] - y[idx]) ** 2))
    low, high = np.quantile(reps, [0.05, 0.95])
    assert (got.low, got.high) == pytest.approx((low, high), rel=1e-12)
    assert (got.level, got.n_boot) == (0.9, 200)


def test_bootstrap_of_a_two_point_mean_by_hand() -> None:
    """Resampling y = (0, 1) gives a mean of 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4, so
    the 95% interval is [0, 1]; a 40% interval is {1/2}."""

    def mean_y(_p: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(y))

    wide = bootstrap_interval(mean_y, [0.5, 0.5], [0, 1], n_boot=4000)
    assert (wide.low, wide.high) == (0.0, 1.0)
    narrow = bootstrap_interval(mean_y, [0.5, 0.5], [0, 1], n_boot=4000, level=0.4)
    assert (narrow.low, narrow.high) == (0.5, 0.5)


@pytest.mark.parametrize("stat", [brier_score, log_loss])
def test_bootstrap_contains_the_estimate_and_shrinks_with_n(
    stat: Callable[[np.ndarray, np.ndarray], float],
) -> None:
    widths = []
    for n in (200, 5000):
        p, y = _synthetic(n, 12)
        ci = bootstrap_interval(stat, p, y, n_boot=1000)
        assert ci.low <= stat(p, y) <= ci.high
        widths.append(ci.high - ci.low)
    # The width scales like 1/sqrt(n): 5 times narrower for 25 times the claims.
    assert widths[1] < widths[0] / 3


def test_bootstrap_is_deterministic_given_a_seed() -> None:
    p, y = _synthetic(300, 13)
    ece = partial(expected_calibration_error, n_bins=10)
    first = bootstrap_interval(ece, p, y, n_boot=300, seed=42)
    assert bootstrap_interval(ece, p, y, n_boot=300, seed=42) == first
    assert bootstrap_interval(ece, p, y, n_boot=300, seed=43) != first


# -- Wilson intervals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # statsmodels 0.15 proportion_confint(k, n, method="wilson") rounded the same way.
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_published_values(k: int, n: int, low: float, high: float) -> None:
    ci = wilson_interval(k, n)
    assert (round(ci.low, 4), round(ci.high, 4)) == (low, high)


def test_wilson_interval_ends_are_exact_at_zero_and_n() -> None:
    assert wilson_interval(0, 3).low == 0.0
    assert wilson_interval(3, 3).high == 1.0


def test_wilson_interval_at_other_levels() -> None:
    """At 0.99 (z = 2.5758) for 5/10 the interval is
    0.5 ± z * sqrt(0.025 + z**2 / 400) / (1 + z**2 / 10) = [0.1842, 0.8158], as statsmodels'
    proportion_confint(5, 10, alpha=0.01, method="wilson")."""
    z = 2.5758293035489
    half = z * math.sqrt(0.025 + z * z / 400) / (1 + z * z / 10)
    ci = wilson_interval(5, 10, level=0.99)
    assert (ci.low, ci.high) == pytest.approx((0.5 - half, 0.5 + half))
    assert (round(ci.low, 4), round(ci.high, 4)) == (0.1842, 0.8158)


def test_reliability_bins_carry_wilson_intervals() -> None:
    bins = reliability_bins([0.1] * 10 + [0.9] * 10, [0] * 10 + [1] * 5 + [0] * 5, n_bins=2)
    assert [(b.positives, b.count) for b in bins] == [(0, 10), (5, 10)]
    assert (round(bins[0].ci_low, 4), round(bins[0].ci_high, 4)) == (0.0, 0.2775)
    assert (round(bins[1].ci_low, 4), round(bins[1].ci_high, 4)) == (0.2366, 0.7634)


# -- input checking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "y", "message"),
    [
        ([0.5, 0.5], [1], "differ in length"),
        ([], [], "empty"),
        ([1.2], [1], "probability in"),
        ([float("nan")], [1], "probability in"),
        ([0.5], [2], "0 or 1"),
        ([[0.5]], [[1]], "1-d"),
    ],
)
def test_bad_inputs_are_refused(p: ArrayLike, y: ArrayLike, message: str) -> None:
    for fn in (brier_score, log_loss, expected_calibration_error):
        with pytest.raises(ValueError, match=message):
            fn(p, y)
