"""Recall, false alarms, calibration and McNemar: known answers against scipy, statsmodels and
hand computation, and properties of the intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta
from statsmodels.stats.proportion import proportion_confint

from autoalign.calibration import expected_calibration_error
from autoalign.errors import DataError
from autoalign.redteam import (
    Metric,
    Trial,
    bootstrap_rows,
    build_report,
    calibration_by_critic,
    calibration_metrics,
    check_trials,
    column_rates,
    compare_pairs,
    false_alarms,
    flagged_controls,
    flawed_table,
    mcnemar_exact,
    proportion_metrics,
    recall,
)

from .conftest import trial


def _by(metrics: list[Metric], method: str, **keys: str) -> Metric:
    found = [m for m in metrics if m.method == method and m.keys == keys]
    assert len(found) == 1, (keys, method, found)
    return found[0]


def test_clopper_pearson_is_the_beta_quantile_interval() -> None:
    (_, cp) = proportion_metrics("recall", {}, 3, 10, level=0.95, detail={})
    assert cp.method == "clopper-pearson"
    assert cp.interval is not None
    assert cp.interval.low == pytest.approx(beta.ppf(0.025, 3, 8), abs=1e-9)
    assert cp.interval.high == pytest.approx(beta.ppf(0.975, 4, 7), abs=1e-9)
    # k = 0: the upper end is 1 - (alpha/2)^(1/n), the lower end exactly 0.
    (_, zero) = proportion_metrics("recall", {}, 0, 20, level=0.95, detail={})
    assert zero.interval is not None
    assert zero.interval.low == 0.0
    assert zero.interval.high == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-9)


def test_wilson_matches_statsmodels() -> None:
    for k, n in ((0, 10), (5, 10), (17, 23), (99, 100)):
        (w, _) = proportion_metrics("recall", {}, k, n, level=0.9, detail={})
        low, high = proportion_confint(k, n, alpha=0.1, method="wilson")
        assert w.interval is not None
        assert (w.interval.low, w.interval.high) == pytest.approx((low, high), abs=1e-9)
        assert w.estimate == k / n and w.n == n


def test_no_metric_without_trials() -> None:
    assert proportion_metrics("recall", {}, 0, 0, level=0.95, detail={}) == []


@settings(deadline=None)  # the first example imports statsmodels
@given(st.integers(min_value=1, max_value=400), st.data())
def test_intervals_contain_the_estimate(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    for m in proportion_metrics("recall", {}, k, n, level=0.95, detail={}):
        assert m.interval is not None
        assert 0.0 <= m.interval.low <= k / n <= m.interval.high <= 1.0


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=50))
def test_intervals_narrow_as_n_grows_at_the_same_rate(k: int, extra: int) -> None:
    n = k + extra
    small = proportion_metrics("recall", {}, k, n, level=0.95, detail={})
    large = proportion_metrics("recall", {}, 4 * k, 4 * n, level=0.95, detail={})
    for a, b in zip(small, large, strict=True):
        assert a.interval is not None and b.interval is not None
        assert b.interval.high - b.interval.low < a.interval.high - a.interval.low


def test_recall_per_critic_and_flaw_type_and_pooled() -> None:
    trials = [
        trial("a", "c1", "n1", True), trial("b", "c1", "n1", False),
        trial("c", "c1", "cherry", True), trial("x", "c1", None, True),
        trial("a", "c2", "n1", False),
    ]
    metrics = recall(trials)
    m = _by(metrics, "wilson", critic="c1", flaw_type="n1")
    assert (m.estimate, m.n, m.detail["detected"]) == (0.5, 2, 1)
    pooled = _by(metrics, "clopper-pearson", critic="c1")
    assert (pooled.estimate, pooled.n) == (pytest.approx(2 / 3), 3)  # the control is not counted
    assert _by(metrics, "wilson", critic="c2", flaw_type="n1").estimate == 0.0


def test_false_alarms_count_controls_and_list_the_flagged_ones() -> None:
    trials = [
        trial("x1", "c1", None, True), trial("x2", "c1", None, False),
        trial("x3", "c1", None, False), trial("x4", "c1", None, True),
        trial("a", "c1", "n1", True), trial("x1", "c2", None, False),
    ]
    m = _by(false_alarms(trials), "wilson", critic="c1")
    assert (m.estimate, m.n) == (0.5, 4)
    assert _by(false_alarms(trials), "wilson", critic="c2").estimate == 0.0
    assert flagged_controls(trials) == {"c1": ["x1", "x4"]}


def test_calibration_scores_the_stated_probability_against_severity() -> None:
    p = [0.9, 0.8, 0.1, 0.3, 0.6, 0.2]
    y = [True, True, False, False, False, True]
    trials = [
        trial(f"s{i}", "c1", "n1", True, probability=pi, severe=yi)
        for i, (pi, yi) in enumerate(zip(p, y, strict=True))
    ] + [trial("z", "c2", "n1", True)]  # states no probability: not scored
    reports = calibration_by_critic(trials, n_bins=3, n_boot=200)
    assert list(reports) == ["c1"]
    metrics = calibration_metrics(reports)
    brier = next(m for m in metrics if m.name == "brier")
    assert brier.estimate == pytest.approx(np.mean((np.array(p) - np.array(y, float)) ** 2))
    assert brier.n == 6 and brier.interval is not None
    ece = next(m for m in metrics if m.name == "ece")
    assert ece.estimate == pytest.approx(expected_calibration_error(p, y, n_bins=3))


def test_mcnemar_exact_is_the_two_sided_binomial() -> None:
    b, c = 3, 12
    hand = 2 * sum(math.comb(b + c, i) for i in range(min(b, c) + 1)) / 2 ** (b + c)
    assert mcnemar_exact(b, c) == pytest.approx(hand)
    assert mcnemar_exact(c, b) == pytest.approx(hand)
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)
    assert mcnemar_exact(0, 0) == 1.0


def test_compare_pairs_counts_discordant_subjects_both_critics_ran_on() -> None:
    trials = []
    # 10 subjects: c1 alone detects 6, c2 alone 1, both 2, neither 1; c2 did not run on "extra".
    pattern = [(True, False)] * 6 + [(False, True)] + [(True, True)] * 2 + [(False, False)]
    for i, (d1, d2) in enumerate(pattern):
        trials += [trial(f"s{i}", "c1", "n1", d1), trial(f"s{i}", "c2", "n1", d2)]
    trials.append(trial("extra", "c1", "n1", True))
    metrics = compare_pairs(flawed_table(trials), n_boot=300)
    diff = next(m for m in metrics if m.name == "recall_difference")
    p = next(m for m in metrics if m.name == "mcnemar_exact_p")
    assert diff.n == 10 and diff.estimate == pytest.approx(0.5)
    assert (diff.detail["a_only"], diff.detail["b_only"]) == (6, 1)
    assert p.estimate == pytest.approx(mcnemar_exact(6, 1))
    assert diff.interval is not None and diff.interval.low <= 0.5 <= diff.interval.high


def test_trials_that_cannot_be_paired_are_refused() -> None:
    with pytest.raises(DataError, match="two trials on subject 'a'"):
        check_trials([trial("a", "c1", "n1", True), trial("a", "c1", "n1", False)])
    with pytest.raises(DataError, match="subject 'a' has flaw type 'n1'"):
        check_trials([trial("a", "c1", "n1", True), trial("a", "c2", "cherry", False)])
    with pytest.raises(DataError, match=r"probability 1\.5"):
        build_report([trial("a", "c1", "n1", True, probability=1.5)])


def test_row_bootstrap_of_a_proportion_approaches_the_normal_interval() -> None:
    """Resampling rows as multinomial counts of the distinct rows is resampling rows: for a
    proportion of 400 rows its percentile interval is close to p ± 1.96 sqrt(p(1-p)/n)."""
    data = np.zeros((400, 1), dtype=bool)
    data[:120] = True
    ci = bootstrap_rows(
        lambda p, w: column_rates(p, w)[:, 0], data, n_boot=4000, level=0.95, seed=3
    )
    half = 1.96 * math.sqrt(0.3 * 0.7 / 400)
    assert ci is not None
    assert ci == pytest.approx((0.3 - half, 0.3 + half), abs=0.006)
    assert bootstrap_rows(lambda p, w: column_rates(p, w)[:, 0], data[:1], n_boot=10,
                          level=0.95, seed=0) is None


def test_two_matchers_are_reported_one_at_a_time() -> None:
    strict = trial("a", "c1", "n1", False)
    llm = Trial(subject="a", critic="c1", flaw_type="n1", detected=True, flagged=True,
                matcher="llm")
    with pytest.raises(DataError, match="--matcher strict"):
        build_report([strict, llm])
    for matcher, expected in (("strict", 0.0), ("llm", 1.0)):
        report = build_report([strict, llm], matcher=matcher, n_boot=10).report
        assert report.matchers == [matcher]
        assert report.select("recall", "wilson", critic="c1")[0].estimate == expected


def test_recall_is_also_split_by_how_the_flaw_got_there_when_there_are_several_ways() -> None:
    def t(subject: str, method: str, detected: bool) -> Trial:
        return Trial(subject=subject, critic="c1", flaw_type="n1", method=method,
                     detected=detected, flagged=detected)

    trials = [t("a", "programmatic", True), t("b", "programmatic", True), t("c", "llm", False)]
    metrics = recall(trials)
    assert _by(metrics, "wilson", critic="c1", flaw_type="n1").estimate == pytest.approx(2 / 3)
    assert _by(metrics, "wilson", critic="c1", flaw_type="n1", origin="llm").estimate == 0.0
    assert _by(metrics, "wilson", critic="c1", flaw_type="n1", origin="programmatic").n == 2
    # One way only: no split.
    assert not [m for m in recall(trials[:2]) if "origin" in m.keys]
