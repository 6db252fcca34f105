"""Correlation of misses: phi against numpy, Mantel-Haenszel against a textbook example and the
hand formula, joint misses and escape probabilities on tables built by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoalign.errors import DataError
from autoalign.redteam import escape, flawed_table, mantel_haenszel, miss_correlation, phi

from .conftest import synthetic_trials, trial

# Lung cancer and smoking in eight Chinese cities (Liu 1992), Agresti, Categorical Data
# Analysis (2013), section 6.4: (smoker & cancer, smoker & control, non-smoker & cancer,
# non-smoker & control) per city. Published: Mantel-Haenszel odds ratio 2.174, CMH statistic
# 280.1, Breslow-Day 5.20 (df 7, p = 0.64).
CHINA = [
    (126, 100, 35, 61), (908, 688, 497, 807), (913, 747, 336, 598), (235, 172, 58, 121),
    (402, 308, 121, 215), (182, 156, 72, 98), (60, 99, 11, 43), (104, 89, 21, 36),
]


def test_mantel_haenszel_reproduces_the_textbook_example() -> None:
    mh = mantel_haenszel(CHINA)
    assert mh["odds_ratio"] == pytest.approx(2.174, abs=5e-4)
    assert mh["cmh_statistic"] == pytest.approx(280.1, abs=0.05)
    assert mh["breslow_day_p"] == pytest.approx(0.64, abs=0.005)
    hand = sum(a * d / (a + b + c + d) for a, b, c, d in CHINA) / sum(
        b * c / (a + b + c + d) for a, b, c, d in CHINA
    )
    assert mh["odds_ratio"] == pytest.approx(hand)
    assert mh["ci_low"] is not None and mh["ci_low"] < hand < mh["ci_high"]  # type: ignore[operator]


def test_mantel_haenszel_needs_a_stratum_with_data() -> None:
    with pytest.raises(DataError, match="no stratum has two subjects"):
        mantel_haenszel([(1, 0, 0, 0)])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=3, max_size=60))
def test_phi_is_pearson_correlation_of_the_miss_indicators(rows: list[tuple[bool, bool]]) -> None:
    m = np.array(rows, dtype=bool)
    value = phi(m)
    if m[:, 0].all() or (~m[:, 0]).all() or m[:, 1].all() or (~m[:, 1]).all():
        assert np.isnan(value)
    else:
        assert value == pytest.approx(np.corrcoef(m[:, 0], m[:, 1])[0, 1])


def _pair_trials(pattern: list[tuple[bool, bool]], flaw: str = "n1") -> list:  # type: ignore[type-arg]
    out = []
    for i, (miss_a, miss_b) in enumerate(pattern):
        out += [
            trial(f"{flaw}{i}", "a", flaw, not miss_a),
            trial(f"{flaw}{i}", "b", flaw, not miss_b),
        ]
    return out


def test_joint_misses_against_the_independence_product() -> None:
    # 20 subjects: both miss 6, only a misses 2, only b misses 2, neither 10.
    pattern = [(True, True)] * 6 + [(True, False)] * 2 + [(False, True)] * 2 + [(False, False)] * 10
    metrics = miss_correlation(flawed_table(_pair_trials(pattern)), n_boot=300)
    joint = next(m for m in metrics if m.name == "joint_miss_rate" and m.method == "wilson")
    product = next(m for m in metrics if m.name == "independent_miss_product")
    overall_phi = next(m for m in metrics if m.name == "miss_phi" and "flaw_type" not in m.keys)
    assert joint.keys == {"critic_a": "a", "critic_b": "b"}
    assert (joint.estimate, joint.n) == (0.3, 20)
    assert product.estimate == pytest.approx(0.4 * 0.4)
    # phi = (6*10 - 2*2) / sqrt(8 * 12 * 8 * 12)
    assert overall_phi.estimate == pytest.approx(56 / 96)
    assert product.detail["joint_over_product"] == pytest.approx(0.3 / 0.16)


def test_stratified_odds_ratio_uses_one_stratum_per_flaw_type() -> None:
    first = [(True, True)] * 4 + [(True, False)] + [(False, True)] * 2 + [(False, False)] * 5
    second = [(True, True)] * 2 + [(True, False)] * 3 + [(False, True)] + [(False, False)] * 6
    trials = _pair_trials(first, "n1") + _pair_trials(second, "cherry")
    metrics = miss_correlation(flawed_table(trials), n_boot=200)
    mh = next(m for m in metrics if m.name == "miss_odds_ratio_mh")
    expected = mantel_haenszel([(2, 3, 1, 6), (4, 1, 2, 5)])
    assert mh.estimate == pytest.approx(expected["odds_ratio"])
    assert mh.detail["strata"] == 2 and mh.n == 24
    per_type = {m.keys.get("flaw_type") for m in metrics if m.name == "miss_phi"}
    assert per_type == {None, "n1", "cherry"}


def test_escape_observed_exceeds_independence_when_misses_are_correlated() -> None:
    table = flawed_table(synthetic_trials(subjects=400, control_every=1000))
    metrics = escape(table, n_boot=300)
    observed = next(m for m in metrics if m.name == "escape_observed" and m.method == "wilson")
    independent = next(m for m in metrics if m.name == "escape_independent")
    assert observed.keys == {"critics": "c1@1+c2@1+c3@1"} and observed.n == 399  # s0 is a control
    # One shared difficulty: everything c3 misses (latent >= 0.7) the others miss too.
    miss = ~table.detected
    assert observed.estimate == pytest.approx(float(np.mean(miss.all(axis=1))))
    assert independent.estimate == pytest.approx(float(np.prod(miss.mean(axis=0))))
    assert observed.estimate is not None and independent.estimate is not None
    assert observed.estimate > 2 * independent.estimate
    assert independent.interval is not None and observed.interval is not None
    assert independent.interval.high < observed.interval.low


def test_escape_of_an_unknown_critic_is_refused() -> None:
    with pytest.raises(DataError, match="have no trials on flawed subjects"):
        escape(flawed_table(synthetic_trials(subjects=10)), ["c1@1", "nobody"])


def test_nested_misses_leave_the_odds_ratio_undefined_and_say_why() -> None:
    # b misses only what a misses too: no subject that b missed and a caught.
    pattern = [(True, True)] * 5 + [(True, False)] * 5 + [(False, False)] * 10
    metrics = miss_correlation(flawed_table(_pair_trials(pattern)), n_boot=100)
    mh = next(m for m in metrics if m.name == "miss_odds_ratio_mh")
    assert mh.estimate is None and mh.interval is None
    assert "undefined" in str(mh.detail["note"])
    assert mh.detail["cmh_p"] is not None  # the test of independence is still defined
