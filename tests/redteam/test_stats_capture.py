"""Capture-recapture estimators against worked examples computed here by hand, and their bias
measured on simulated flaws whose total is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autoalign.errors import DataError
from autoalign.redteam import (
    chao,
    chapman,
    estimator_bias,
    frequency_counts,
    jackknife1,
    lincoln_petersen,
    population_metrics,
)


def _histories(counts: dict[frozenset[str], int]) -> list[frozenset[str]]:
    return [h for h, n in counts.items() for _ in range(n)]


# Two critics: a found 60, b found 50, both found 20 (S = 90).
TWO = _histories({
    frozenset({"a"}): 40, frozenset({"b"}): 30, frozenset({"a", "b"}): 20,
})


def test_lincoln_petersen_and_chapman_worked_example() -> None:
    lp = lincoln_petersen(TWO, "a", "b")
    assert lp.estimate == pytest.approx(60 * 50 / 20)  # 150
    ch = chapman(TWO, "a", "b")
    assert ch.estimate == pytest.approx(61 * 51 / 21 - 1)  # 147.142857...
    assert ch.observed == 90 and ch.unseen == pytest.approx(61 * 51 / 21 - 91)
    var = 61 * 51 * 40 * 30 / (21**2 * 22)
    assert ch.variance == pytest.approx(var)
    # Chao's log-normal interval around the unseen count.
    f0 = ch.estimate - 90
    c = math.exp(1.959964 * math.sqrt(math.log(1 + var / f0**2)))
    assert (ch.low, ch.high) == pytest.approx((90 + f0 / c, 90 + f0 * c), rel=1e-5)
    assert ch.low is not None and ch.low >= 90


def test_lincoln_petersen_is_undefined_without_recaptures_but_chapman_is_not() -> None:
    hs = _histories({frozenset({"a"}): 5, frozenset({"b"}): 4})
    assert lincoln_petersen(hs, "a", "b").estimate is None
    assert chapman(hs, "a", "b").estimate == pytest.approx(6 * 5 / 1 - 1)


# Three critics: f1 = 10 (4 by a alone, 3 by b, 3 by c), f2 = 5, f3 = 5 (S = 20).
THREE = _histories({
    frozenset({"a"}): 4, frozenset({"b"}): 3, frozenset({"c"}): 3,
    frozenset({"a", "b"}): 3, frozenset({"b", "c"}): 2, frozenset({"a", "b", "c"}): 5,
})


def test_chao_lower_bound_worked_example() -> None:
    assert frequency_counts(THREE) == {1: 10, 2: 5, 3: 5}
    est = chao(THREE, ["a", "b", "c"])
    assert est.estimate == pytest.approx(20 + (2 / 3) * 10**2 / (2 * 5))  # 26.667
    a, r = 2 / 3, 10 / 5
    assert est.variance == pytest.approx(5 * (a / 2 * r**2 + a * a * r**3 + a * a / 4 * r**4))


def test_chao_without_doubletons_uses_the_bias_corrected_form() -> None:
    hs = _histories({frozenset({"a"}): 2, frozenset({"b"}): 2, frozenset({"a", "b", "c"}): 2})
    est = chao(hs, ["a", "b", "c", "d"])  # k = 4; d found nothing but looked
    assert est.estimate == pytest.approx(6 + 0.75 * 4 * 3 / 2)  # 10.5


def test_first_order_jackknife_worked_example() -> None:
    est = jackknife1(THREE, ["a", "b", "c"])
    assert est.estimate == pytest.approx(20 + (2 / 3) * 10)
    # Leave-one-critic-out counts 16, 17, 17; variance (k-1)/k * sum of squared deviations.
    assert est.variance == pytest.approx((2 / 3) * ((16 - 50 / 3) ** 2 + 2 * (17 - 50 / 3) ** 2))


def test_estimators_refuse_inconsistent_inputs() -> None:
    with pytest.raises(DataError, match="not among the critics"):
        chao(THREE, ["a", "b"])
    with pytest.raises(DataError, match="at least two critics"):
        jackknife1([{"a"}], ["a"])
    with pytest.raises(DataError, match="two different critics"):
        chapman(TWO, "a", "a")
    with pytest.raises(DataError, match="true_total 3 is less than"):
        estimator_bias(TWO, ["a", "b"], true_total=3)


def _simulate(n: int, rates: list[float], seed: int) -> list[set[str]]:
    rng = np.random.default_rng(seed)
    found = rng.random((n, len(rates))) < np.array(rates)
    return [{f"c{j}" for j in range(len(rates)) if row[j]} for row in found]


def test_bias_on_known_flaws_is_small_for_chapman_when_critics_are_independent() -> None:
    hs = _simulate(2000, [0.3, 0.4, 0.5], seed=1)
    metrics = estimator_bias(hs, ["c0", "c1", "c2"], true_total=2000)
    ch = next(m for m in metrics if m.method == "chapman"
              and m.keys == {"estimator": "chapman", "critic_a": "c0", "critic_b": "c1"})
    assert ch.n == 2000 and ch.detail["truth"] == 2000
    assert ch.estimate == pytest.approx(ch.detail["estimate"] - 2000)  # type: ignore[operator]
    assert abs(ch.detail["relative_bias"]) < 0.1  # type: ignore[arg-type]
    assert ch.detail["interval_covers_truth"] is True
    # Every estimator reports its bias: Chao, jackknife, and LP/Chapman per pair.
    assert {m.method for m in metrics} == {"chao", "jackknife1", "lincoln-petersen", "chapman"}
    assert len(metrics) == 2 + 2 * 3


def test_correlated_critics_make_two_critic_estimates_too_low() -> None:
    """Critics that find the same easy flaws over-recapture, so Chapman underestimates: what the
    bias measurement on injected flaws is for."""
    rng = np.random.default_rng(2)
    easy = rng.random(1000) < 0.5
    found = [{c for c in ("a", "b") if e and rng.random() < 0.9} for e in easy]
    (bias,) = [m for m in estimator_bias(found, ["a", "b"], true_total=1000)
               if m.method == "chapman"]
    assert bias.estimate is not None and bias.estimate < -300
    assert bias.detail["interval_covers_truth"] is False


def test_population_metrics_for_organic_flaws() -> None:
    metrics = population_metrics(THREE, ["a", "b", "c"], population="organic")
    chao_m = next(m for m in metrics if m.method == "chao")
    assert chao_m.name == "population_size" and chao_m.n == 20
    assert chao_m.keys == {"estimator": "chao", "population": "organic"}
    assert chao_m.detail["unseen"] == pytest.approx(20 / 3)
    assert chao_m.interval is not None and chao_m.interval.low >= 20
