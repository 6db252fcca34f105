"""Known answers for the A/B statistics: Newcombe's paired interval, McNemar, the paired Brier
difference, Wilcoxon, and the mixture SPRT (its threshold and its type-I error by
simulation)."""

from __future__ import annotations

import math

import pytest

from autoalign.calibration import wilson_interval
from autoalign.learning import (
    Pair,
    brier_difference,
    mixture_log_lr,
    mixture_sprt,
    newcombe_paired,
    paired_difference,
)
from autoalign.learning._ab_stats import null_rejection_rate, paired_bootstrap_mean, wilcoxon_p


def test_newcombe_matches_the_worked_example() -> None:
    # Altman et al., Statistics with Confidence (2000), Table 6.2: 14 both, 5 discordant one
    # way, none the other, 22 neither; difference 5/41 = 0.122, 95% CI 0.011 to 0.226.
    got = newcombe_paired(both=14, a_only=0, b_only=5, neither=22)
    assert got.low == pytest.approx(0.0115, abs=5e-4)
    assert got.high == pytest.approx(0.2265, abs=5e-4)


def test_newcombe_is_antisymmetric_and_contains_zero_without_discordance() -> None:
    one = newcombe_paired(both=10, a_only=2, b_only=7, neither=5)
    other = newcombe_paired(both=10, a_only=7, b_only=2, neither=5)
    assert one.low == pytest.approx(-other.high) and one.high == pytest.approx(-other.low)
    same = newcombe_paired(both=5, a_only=0, b_only=0, neither=5)
    assert same.low < 0 < same.high and same.low == pytest.approx(-same.high)
    with pytest.raises(ValueError, match="at least one pair"):
        newcombe_paired(both=0, a_only=0, b_only=0, neither=0)


def _pairs(table: dict[tuple[bool, bool], int]) -> list[Pair]:
    out = []
    for (a, b), count in table.items():
        out += [Pair(task=f"{a}{b}{i}", flaw_type="t", a_correct=a, b_correct=b)
                for i in range(count)]
    return out


def test_paired_difference_counts_and_mcnemar() -> None:
    got = paired_difference(_pairs({(True, True): 3, (True, False): 1, (False, True): 9,
                                    (False, False): 2}))
    assert (got.n, got.both, got.a_only, got.b_only, got.neither) == (15, 3, 1, 9, 2)
    assert got.difference == pytest.approx(8 / 15)
    # exact binomial: 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024
    assert got.mcnemar_p == pytest.approx(22 / 1024)
    assert got.a_rate == wilson_interval(4, 15) and got.b_rate == wilson_interval(12, 15)
    assert got.interval.low < got.difference < got.interval.high


def test_brier_difference_and_wilcoxon() -> None:
    pairs = [Pair(task=str(i), flaw_type=None, a_correct=True, b_correct=True,
                  a_probability=0.5, b_probability=0.9, severe=True) for i in range(6)]
    got = brier_difference(pairs)
    assert got is not None
    assert (got.n, got.a_brier, got.b_brier) == (6, pytest.approx(0.25), pytest.approx(0.01))
    assert got.difference == pytest.approx(-0.24)
    assert got.interval is not None and got.interval.low == pytest.approx(-0.24)
    # six negative differences: every sign pattern is equally likely under H0, and only "all
    # negative" and "all positive" are as extreme, so p = 2 / 2^6
    assert got.wilcoxon_p == pytest.approx(2 / 64)
    assert wilcoxon_p([0.0, 0.0]) == 1.0
    assert brier_difference([Pair(task="x", flaw_type=None, a_correct=True,
                                  b_correct=True)]) is None


def test_wilcoxon_exact_known_answer() -> None:
    # Distinct magnitudes, all positive, n = 5: the exact two-sided p is 2 / 2^5 = 0.0625.
    assert wilcoxon_p([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(0.0625)


def test_paired_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    d = [0.1, -0.2, 0.3, 0.0, 0.2, 0.1]
    one = paired_bootstrap_mean(d, seed=3)
    assert one == paired_bootstrap_mean(d, seed=3)
    assert one.low <= sum(d) / len(d) <= one.high


def test_mixture_likelihood_ratio_known_values() -> None:
    # s = k: LR = 2^k / (k + 1); one discordant pair carries no evidence.
    assert math.exp(mixture_log_lr(1, 1)) == pytest.approx(1.0)
    assert math.exp(mixture_log_lr(7, 7)) == pytest.approx(16.0)
    assert math.exp(mixture_log_lr(8, 8)) == pytest.approx(256 / 9)
    # symmetric in which arm wins
    assert mixture_log_lr(2, 9) == pytest.approx(mixture_log_lr(7, 9))


def test_mixture_sprt_stops_at_the_first_crossing() -> None:
    # Ties are skipped; 8 straight B wins cross 1/0.05 = 20 (7 give only 16).
    seq = [(True, True)] * 3 + [(False, True)] * 10
    got = mixture_sprt(seq, alpha=0.05)
    assert got.stopped and got.stopped_after == 3 + 8
    assert (got.discordant, got.b_wins) == (8, 8)
    assert got.likelihood_ratio == pytest.approx(256 / 9)
    assert not mixture_sprt(seq[:10], alpha=0.05).stopped


def test_mixture_sprt_keeps_its_type_one_error_under_the_null() -> None:
    alpha = 0.05
    rejected, n = null_rejection_rate(alpha=alpha, sequences=2000, length=300, seed=20261130)
    upper = wilson_interval(rejected, n).high
    assert upper < alpha + 0.01
    # and it does reject sometimes (the simulation is not vacuous)
    assert rejected > 0


def test_the_docs_define_the_ab_statistics() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    stats = (docs / "statistics.md").read_text()
    for term in ("Newcombe", "McNemar", "Wilcoxon", "mixture SPRT", "Ville"):
        assert term in stats, term
    assert "## A/B tests of components" in (docs / "learning.md").read_text()
