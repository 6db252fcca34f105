"""Property tests of the calibration statistics (deterministic: `derandomize=True`)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autoalign.calibration import (
    brier_score,
    equal_mass_bins,
    expected_calibration_error,
    log_loss,
    wilson_interval,
)

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None)

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
levels = st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99])


@st.composite
def forecasts(draw: st.DrawFn) -> tuple[list[float], list[int]]:
    """Predictions (ties likely: drawn from a few values half the time) and 0/1 outcomes."""
    n = draw(st.integers(min_value=1, max_value=60))
    values = draw(st.one_of(
        st.lists(probabilities, min_size=n, max_size=n),
        st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), min_size=n, max_size=n),
    ))
    outcomes = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return values, outcomes


@SETTINGS
@given(n=st.integers(min_value=1, max_value=2000), data=st.data(), level=levels)
def test_wilson_interval_holds_the_estimate_inside_zero_one(
    n: int, data: st.DataObject, level: float
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    interval = wilson_interval(k, n, level=level)
    assert 0.0 <= interval.low <= k / n <= interval.high <= 1.0
    assert (interval.low == 0.0) == (k == 0)
    assert (interval.high == 1.0) == (k == n)


@SETTINGS
@given(
    n=st.integers(min_value=1, max_value=500),
    data=st.data(),
    factor=st.integers(min_value=2, max_value=20),
    level=levels,
)
def test_wilson_interval_narrows_with_n_and_widens_with_level(
    n: int, data: st.DataObject, factor: int, level: float
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    small = wilson_interval(k, n, level=level)
    large = wilson_interval(k * factor, n * factor, level=level)  # same proportion, more data
    assert large.high - large.low < small.high - small.low
    wider = wilson_interval(k, n, level=0.999)
    assert wider.low <= small.low and small.high <= wider.high


@SETTINGS
@given(forecast=forecasts())
def test_brier_and_log_loss_bounds(forecast: tuple[list[float], list[int]]) -> None:
    p, y = forecast
    brier, loss = brier_score(p, y), log_loss(p, y)
    assert 0.0 <= brier <= 1.0
    # Per prediction, -log(q) >= 1 - q >= (1 - q)**2 for the probability q given to the outcome.
    assert loss >= brier - 1e-12
    assert loss <= -math.log(1e-15) + 1e-9
    # Relabelling both the outcome and the prediction changes nothing.
    flipped_p, flipped_y = [1.0 - v for v in p], [1 - v for v in y]
    assert math.isclose(brier_score(flipped_p, flipped_y), brier, abs_tol=1e-12)


@SETTINGS
@given(y=st.lists(st.integers(0, 1), min_size=1, max_size=60))
def test_a_perfect_forecast_scores_zero(y: list[int]) -> None:
    p = [float(v) for v in y]
    assert brier_score(p, y) == 0.0
    assert log_loss(p, y) < 1e-12
    assert expected_calibration_error(p, y) == 0.0


@SETTINGS
@given(
    groups=st.lists(
        st.tuples(st.integers(min_value=1, max_value=12), st.data()), min_size=1, max_size=8
    ),
    n_bins=st.integers(min_value=1, max_value=15),
)
def test_ece_of_a_perfectly_calibrated_forecast_is_zero(
    groups: list[tuple[int, st.DataObject]], n_bins: int
) -> None:
    """Each group predicts its own frequency of positives; equal predictions share a bin, so
    every bin's mean prediction equals its observed frequency, however the bins fall."""
    p: list[float] = []
    y: list[int] = []
    for size, data in groups:
        positives = data.draw(st.integers(min_value=0, max_value=size))
        p += [positives / size] * size
        y += [1] * positives + [0] * (size - positives)
    assert expected_calibration_error(p, y, n_bins=n_bins) < 1e-12


@SETTINGS
@given(forecast=forecasts(), n_bins=st.integers(min_value=1, max_value=15))
def test_equal_mass_bins_partition_the_indices_in_order(
    forecast: tuple[list[float], list[int]], n_bins: int
) -> None:
    p, _ = forecast
    bins = equal_mass_bins(p, n_bins)
    assert 1 <= len(bins) <= n_bins
    assert all(b.size > 0 for b in bins)
    assert sorted(np.concatenate(bins).tolist()) == list(range(len(p)))
    values = np.asarray(p)
    for left, right in itertools.pairwise(bins):
        assert values[left].max() < values[right].min()  # ordered, and ties never split
    ece = expected_calibration_error(p, forecast[1], n_bins=n_bins)
    assert 0.0 <= ece <= 1.0
