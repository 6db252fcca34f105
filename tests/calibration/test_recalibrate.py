"""Recalibration maps: known answers against scikit-learn and simulated critics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from autoalign.calibration import (
    PLATT_EPS,
    apply_map,
    apply_map_many,
    fit_isotonic,
    fit_map,
    fit_platt,
    log_loss,
    paired_log_loss_difference,
)
from autoalign.errors import DataError


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def test_platt_recovers_a_known_sigmoid() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.02, 0.98, size=20_000)
    truth = 1.0 / (1.0 + np.exp(-(2.0 * _logit(p) - 1.0)))  # a = 2, b = -1
    y = (rng.uniform(size=p.size) < truth).astype(float)
    params = fit_platt(p, y)
    assert params["method"] == "platt"
    assert params["a"] == pytest.approx(2.0, abs=0.08)
    assert params["b"] == pytest.approx(-1.0, abs=0.08)


def test_platt_applied_from_stored_params_equals_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    p = np.concatenate([[0.0, 1.0], rng.uniform(size=300)])
    y = (rng.uniform(size=p.size) < p**2).astype(float)
    params = json.loads(json.dumps(fit_platt(p, y)))  # through JSON, as the store keeps them
    clipped = np.clip(p, PLATT_EPS, 1 - PLATT_EPS)
    model = LogisticRegression(C=np.inf, max_iter=1000).fit(
        _logit(clipped).reshape(-1, 1), y.astype(int))
    expected = model.predict_proba(_logit(clipped).reshape(-1, 1))[:, 1]
    np.testing.assert_allclose(apply_map_many(params, p), expected, atol=1e-6)
    assert apply_map(params, float(p[5])) == pytest.approx(float(expected[5]), abs=1e-6)


def test_isotonic_applied_from_stored_params_equals_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.1, 0.9, size=400)
    y = (rng.uniform(size=p.size) < p).astype(float)
    params = json.loads(json.dumps(fit_isotonic(p, y)))
    model = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    queries = np.concatenate([[0.0, 0.05, 0.95, 1.0], rng.uniform(size=200)])  # past both ends
    np.testing.assert_allclose(apply_map_many(params, queries), model.predict(queries),
                               atol=1e-12)


def test_isotonic_on_a_monotone_sample_is_the_identity_on_its_points() -> None:
    # outcomes that already increase with p: the fit is the outcomes themselves
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.8])
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    params = fit_isotonic(p, y)
    np.testing.assert_allclose(apply_map_many(params, p), y)
    # a perfectly calibrated step in the middle is interpolated, and clipped past the ends
    assert apply_map(params, 0.35) == pytest.approx(0.5)
    assert apply_map(params, 0.0) == 0.0 and apply_map(params, 1.0) == 1.0


def test_a_map_improves_a_miscalibrated_critic_on_fresh_data() -> None:
    rng = np.random.default_rng(3)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        p = rng.uniform(0.05, 0.95, size=n)
        y = (rng.uniform(size=n) < p**3).astype(float)  # the critic overstates
        return p, y

    p, y = draw(2000)
    q, z = draw(2000)
    for method in ("platt", "isotonic"):
        params = fit_map(method, p, y)
        assert log_loss(apply_map_many(params, q), z) < log_loss(q, z) - 0.05


def test_one_outcome_only_cannot_be_fitted() -> None:
    with pytest.raises(ValueError, match="every outcome is 1"):
        fit_platt([0.2, 0.7], [1, 1])
    with pytest.raises(ValueError, match="every outcome is 0"):
        fit_isotonic([0.2, 0.7], [0, 0])
    with pytest.raises(ValueError, match="unknown recalibration method 'beta'"):
        fit_map("beta", [0.2, 0.7], [0, 1])  # type: ignore[arg-type]  # deliberately wrong


@pytest.mark.parametrize("params", [
    {"method": "beta"},
    {"method": "platt", "a": "x", "b": 0.0, "eps": 1e-4},
    {"method": "platt", "a": 1.0, "b": 0.0, "eps": 0.7},
    {"method": "isotonic", "x": [0.5, 0.1], "y": [0.0, 1.0]},
    {"method": "isotonic", "x": [0.1], "y": [0.0, 1.0]},
    {"method": "isotonic", "x": [0.1, 0.5], "y": [0.0, 2.0]},
])
def test_bad_stored_params_are_a_data_error(params: dict[str, object]) -> None:
    with pytest.raises(DataError, match="params"):
        apply_map(params, 0.5)


def test_paired_difference_of_log_loss() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    before = np.array([0.5, 0.5, 0.5, 0.5])
    after = np.array([0.9, 0.1, 0.9, 0.1])
    diff, interval = paired_log_loss_difference(before, after, y, n_boot=200, seed=0)
    assert diff == pytest.approx(log_loss(after, y) - log_loss(before, y))
    # every item improves by the same amount: every replicate equals the point estimate
    assert interval.low == pytest.approx(diff) and interval.high == pytest.approx(diff)
    same, flat = paired_log_loss_difference(before, before, y, n_boot=50)
    assert same == 0.0 and flat.low == flat.high == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        paired_log_loss_difference(before, after[:3], y)
