"""Judges' pure parts: reading a swapped pair, Bradley-Terry shares, disagreement."""

from __future__ import annotations

import subprocess
import sys

import choix
import numpy as np
import pytest

from autoalign.critics import (
    Comparison,
    allocate,
    disagreement,
    majority_spread,
    read_swapped,
    strengths,
)
from autoalign.critics._judges import _pairs


@pytest.mark.parametrize(
    ("a_first", "b_first", "winner"),
    [
        ("first", "second", 0),   # a named in both orders
        ("second", "first", 1),   # b named in both orders
        ("first", "first", None),  # the first shown, whichever it was: position, not item
        ("second", "second", None),
        ("tie", "second", None),
        ("tie", "tie", None),
    ],
)
def test_a_position_dependent_verdict_is_a_tie(
    a_first: str, b_first: str, winner: int | None
) -> None:
    assert read_swapped(0, 1, a_first, b_first).winner == winner  # type: ignore[arg-type]


def test_two_items_share_by_their_win_ratio() -> None:
    # a beats b three times, b beats a once: the Bradley-Terry MLE has p_a / (p_a + p_b) = 3/4.
    comparisons = [Comparison(a=0, b=1, winner=0)] * 3 + [Comparison(a=0, b=1, winner=1)]
    allocation = allocate(["a", "b"], comparisons, alpha=0.0, n_boot=200)
    assert allocation.share("a").share == pytest.approx(0.75, abs=1e-6)
    assert allocation.share("b").share == pytest.approx(0.25, abs=1e-6)
    for share in allocation.shares:
        assert share.low <= share.share <= share.high


def test_strengths_are_choix_on_the_same_data() -> None:
    wins = [(0, 1), (0, 1), (1, 2), (2, 0), (0, 2), (1, 0), (2, 1), (0, 1)]
    comparisons = [Comparison(a=w, b=lo, winner=w) for w, lo in wins]
    expected = choix.ilsr_pairwise(3, wins, alpha=0.0)
    assert np.allclose(strengths(3, comparisons, alpha=0.0), expected - expected.mean(), atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.0, 1e-3, 0.01, 1.0])
def test_strengths_are_choix_on_random_data_with_ties_and_weights(seed: int, alpha: float) -> None:
    # The point estimate is our numpy I-LSR; choix is the reference it must reproduce. Every
    # item both wins and loses (a cycle first), so the unregularised fit exists too.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    cycle = [Comparison(a=i, b=(i + 1) % n, winner=i) for i in range(n)]
    drawn = [
        Comparison(a=int(a), b=int(b), winner=[int(a), int(b), None][int(rng.integers(3))],
                   weight=int(rng.integers(1, 4)))
        for a, b in (rng.choice(n, size=2, replace=False) for _ in range(int(rng.integers(1, 40))))
    ]
    comparisons = cycle + drawn
    expected = choix.ilsr_pairwise(n, _pairs(comparisons), alpha=alpha)
    assert np.allclose(strengths(n, comparisons, alpha=alpha), expected - expected.mean(),
                       atol=1e-6)


def test_fitting_shares_loads_neither_choix_nor_scipy() -> None:
    # choix imports scipy.stats (about 1.5 s of a run's start-up on a slow machine); the fit is
    # ours, so a run's import of the pipeline and an allocation load neither.
    probe = (
        "import sys, autoalign.pipeline\n"
        "from autoalign.critics import Comparison, allocate\n"
        "allocate(['a', 'b'], [Comparison(a=0, b=1, winner=0)], n_boot=20)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('choix', 'scipy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.strip() == "[]"


def test_a_tie_is_half_a_win_each_way() -> None:
    tie = Comparison(a=0, b=1, winner=None)
    assert allocate(["a", "b"], [tie] * 4, n_boot=0).share("a").share == pytest.approx(0.5)
    one_tie = [Comparison(a=0, b=1, winner=0), tie]  # 1.5 wins to 0.5
    assert allocate(["a", "b"], one_tie, alpha=0.0, n_boot=0).share("a").share == pytest.approx(
        0.75, abs=1e-6
    )


def test_human_comparisons_count_with_their_weight() -> None:
    model = [Comparison(a=0, b=1, winner=0)] * 4
    human = [Comparison(a=0, b=1, winner=1, source="human")] * 2
    equal = allocate(["a", "b"], model + human, human_weight=1, alpha=0.0, n_boot=0)
    heavy = allocate(["a", "b"], model + human, human_weight=5, alpha=0.0, n_boot=0)
    assert equal.share("a").share == pytest.approx(4 / 6, abs=1e-6)
    assert heavy.share("b").share == pytest.approx(10 / 14, abs=1e-6)
    assert (heavy.n_human, heavy.human_weight, heavy.n_comparisons) == (2, 5, 6)


def test_more_comparisons_give_a_narrower_interval() -> None:
    few = [Comparison(a=0, b=1, winner=0)] * 3 + [Comparison(a=0, b=1, winner=1)]
    many = few * 25
    width = [
        (lambda s: s.high - s.low)(allocate(["a", "b"], c, n_boot=300, seed=1).share("a"))
        for c in (few, many)
    ]
    assert width[1] < width[0]


def test_an_item_never_compared_or_never_winning_keeps_a_finite_share() -> None:
    comparisons = [Comparison(a=0, b=1, winner=0)] * 3
    allocation = allocate(["a", "b", "c"], comparisons, n_boot=50)
    assert all(0.0 < s.share < 1.0 for s in allocation.shares)
    assert sum(s.share for s in allocation.shares) == pytest.approx(1.0)


def test_bad_comparisons_are_refused() -> None:
    with pytest.raises(ValueError, match="two different items"):
        Comparison(a=1, b=1, winner=1)
    with pytest.raises(ValueError, match="neither item"):
        Comparison(a=0, b=1, winner=2)
    with pytest.raises(ValueError, match="weight"):
        Comparison(a=0, b=1, winner=0, weight=0)


def test_disagreement_is_the_spread_of_scores() -> None:
    assert disagreement([3, 8, 5]) == 5
    assert disagreement([7]) == 0.0
    assert disagreement([]) == 0.0


def _games(a: int, b: int, a_wins: int, b_wins: int) -> list[Comparison]:
    return [Comparison(a=a, b=b, winner=a)] * a_wins + [Comparison(a=a, b=b, winner=b)] * b_wins


def test_three_topics_share_by_hand_computed_bradley_terry_strengths() -> None:
    # a beats b 2:1, b beats c 2:1, a beats c 4:1. Strengths p = (4, 2, 1) give every pair's
    # win share exactly (4/6 = 2/3, 2/3, 4/5), so they solve the likelihood equations: the
    # shares are 4/7, 2/7, 1/7.
    comparisons = _games(0, 1, 2, 1) + _games(1, 2, 2, 1) + _games(0, 2, 4, 1)
    allocation = allocate(["a", "b", "c"], comparisons, alpha=0.0, n_boot=0)
    assert [s.share for s in allocation.shares] == pytest.approx([4 / 7, 2 / 7, 1 / 7], abs=1e-6)
    # ... and choix on the same (winner, loser) data gives the same shares.
    wins = [(c.winner, c.b if c.winner == c.a else c.a) for c in comparisons]
    params = choix.ilsr_pairwise(3, wins, alpha=0.0)
    expected = np.exp(params) / np.exp(params).sum()
    assert [s.share for s in allocation.shares] == pytest.approx(expected.tolist(), abs=1e-6)


def test_a_position_dependent_pair_leaves_the_shares_equal() -> None:
    # The judge named the first-shown case in both orders, four times: four ties.
    ties = [read_swapped(0, 1, "first", "first") for _ in range(4)]
    allocation = allocate(["a", "b"], ties, n_boot=50)
    assert [s.share for s in allocation.shares] == pytest.approx([0.5, 0.5])


def test_majority_spread_is_the_tightest_majority() -> None:
    assert majority_spread([2, 9]) == 7  # two judges: both must agree
    assert majority_spread([2, 9, 9, 8]) == 1  # an outlier outvoted by three
    assert majority_spread([2, 9, 2, 9]) == 7  # two camps: no majority agrees
    assert majority_spread([5]) == 0.0 and majority_spread([]) == 0.0
    assert disagreement([2, 9, 9, 8]) == 7  # the plain spread only grows with more judges


def test_the_bootstrap_replicates_are_choix_fits_of_each_resample() -> None:
    # The bootstrap fits every resample at once (`_batched_ilsr`); each replicate must be what
    # choix's I-LSR gives on that resample's pairs, ties and human weights included.
    from autoalign.critics._judges import _batched_ilsr, _pairs, _win_counts

    rng = np.random.default_rng(3)
    comparisons = [
        Comparison(a=int(a), b=int(b), winner=[int(a), int(b), None][int(rng.integers(3))],
                   weight=int(rng.integers(1, 4)))
        for a, b in (rng.choice(6, size=2, replace=False) for _ in range(25))
    ]
    picks = np.stack([np.bincount(rng.integers(0, 25, 25), minlength=25) for _ in range(40)])
    batched = _batched_ilsr(_win_counts(6, comparisons, picks), alpha=1e-3)
    for r in range(40):
        drawn = [c for c, k in zip(comparisons, picks[r], strict=True) for _ in range(int(k))]
        expected = choix.ilsr_pairwise(6, _pairs(drawn), alpha=1e-3)
        assert np.allclose(batched[r], expected - expected.mean(), atol=1e-6), r
