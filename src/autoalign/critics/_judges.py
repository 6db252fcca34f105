"""Judges: what a judge is asked, how a position-swapped pair is read, how verdicts aggregate.

Nothing here calls a model: stages ask judges through the runtime (so every answer is stored,
cached and resumed like any step) and hand the answers to these functions.

- **Rubric scores** (`RubricScore`): one judge, one item, a 1-10 score against a stated rubric.
  `disagreement` is the spread of several judges' scores; a stage asks more judges when it is
  above its threshold, and escalates to a human when it stays there.
- **Pairwise comparisons** (`PairwiseChoice`): a judge sees two items and names the better one.
  Judges favour a position, so every pair is asked in both orders; `read_swapped` counts a
  verdict that follows the position rather than the item as a tie.
- **Settling a disagreement** (`majority_spread`): after more judges were asked, the judges
  agree when a strict majority of them lies within the threshold.
- **Bradley-Terry aggregation** (`allocate`): comparisons (from model judges, and from humans
  with a configurable weight) are fitted into each item's strength by I-LSR (Maystre and
  Grossglauser, 2015), and strengths into shares (e.g. of an idea budget across topics), each
  with a percentile-bootstrap interval over the comparisons. The fit is `choix.ilsr_pairwise`'s
  algorithm written in numpy over win-count matrices (`_batched_ilsr`; the tests hold it to
  choix): it fits a whole bootstrap at once, takes real-valued weights (a human weight that is
  not a whole number, or per-judge weights refitted from labels: `docs/learning.md`) where
  choix takes only repeated comparisons, and spares every run choix's import of scipy.stats
  (about 1.5 s of start-up, docs/scaling.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Para = Annotated[str, Field(min_length=1, max_length=400)]

BOOT_ALPHA = 1e-3
"""The least regularisation of a bootstrap replicate's fit."""

Choice = Literal["first", "second", "tie"]
"""Which of two items, in the order shown, a judge found better."""


class RubricScore(BaseModel):
    """A judge's score of one item against a rubric."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=10, description="1 = fails the rubric, 10 = meets it fully.")
    rationale: Para


class PairwiseChoice(BaseModel):
    """A judge's comparison of two items shown in a given order."""

    model_config = ConfigDict(extra="forbid")

    better: Choice = Field(description="first, second, or tie when neither is better.")
    rationale: Para


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One comparison of items `a` and `b` (indices), read from both orders."""

    a: int
    b: int
    winner: int | None
    """`a`, `b`, or None for a tie (a position-dependent verdict is a tie)."""
    weight: int = 1
    """How many comparisons it counts as (a human's may count for more than a model's)."""
    source: Literal["model", "human"] = "model"
    judge: str | None = None
    """The model judge's `provider:model`, for per-judge weights (None: unknown, or a human)."""

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise ValueError(f"a comparison needs two different items, got {self.a} twice")
        if self.winner not in (self.a, self.b, None):
            raise ValueError(f"winner {self.winner} is neither item {self.a} nor {self.b}")
        if self.weight < 1:
            raise ValueError(f"a comparison's weight must be at least 1, got {self.weight}")


def read_swapped(a: int, b: int, a_first: Choice, b_first: Choice) -> Comparison:
    """The comparison of `a` and `b` from two asks: shown as (a, b), then as (b, a).

    The item wins only if both orders name it; a verdict that names the same position both times
    (the first shown, say) says more about the position than the items, and counts as a tie.
    """
    a_wins = (a_first == "first") + (b_first == "second")
    b_wins = (a_first == "second") + (b_first == "first")
    if a_wins == 2:
        return Comparison(a=a, b=b, winner=a)
    if b_wins == 2:
        return Comparison(a=a, b=b, winner=b)
    return Comparison(a=a, b=b, winner=None)


def _pairs(comparisons: Sequence[Comparison]) -> list[tuple[int, int]]:
    """(winner, loser) pairs, as choix takes them. A decisive comparison is two pairs, a tie one
    pair each way (half a win each), each repeated `weight` times."""
    data: list[tuple[int, int]] = []
    for c in comparisons:
        if c.winner is None:
            data += [(c.a, c.b), (c.b, c.a)] * c.weight
        else:
            loser = c.b if c.winner == c.a else c.a
            data += [(c.winner, loser)] * (2 * c.weight)
    return data


def strengths(
    n_items: int, comparisons: Sequence[Comparison], *, alpha: float = 0.01
) -> np.ndarray:
    """Bradley-Terry strengths (log scale, mean 0) by I-LSR; `alpha` regularises, so an item
    that never won still gets a finite strength."""
    if n_items < 1:
        raise ValueError("there must be at least one item")
    if n_items == 1 or not comparisons:
        return np.zeros(n_items)
    once = np.ones((1, len(comparisons)))
    params: np.ndarray = _batched_ilsr(_win_counts(n_items, comparisons, once), alpha=alpha)[0]
    return params


def _shares(params: np.ndarray) -> np.ndarray:
    """Softmax of strengths along the last axis (one item set, or a batch of them)."""
    weights = np.exp(params - params.max(axis=-1, keepdims=True))
    result: np.ndarray = weights / weights.sum(axis=-1, keepdims=True)
    return result


def _win_counts(
    n_items: int, comparisons: Sequence[Comparison], picks: np.ndarray,
    scales: Sequence[float] | None = None,
) -> np.ndarray:
    """`wins[r, w, l]`: how often `w` beat `l` in replicate `r`, as `_pairs` counts them, where
    `picks[r, c]` is how often replicate `r` drew comparison `c`, each scaled by `scales[c]`
    (a real-valued weight; 1 when not given)."""
    wins = np.zeros((picks.shape[0], n_items, n_items))
    for c, comparison in enumerate(comparisons):
        scale = 1.0 if scales is None else float(scales[c])
        for winner, loser in _pairs([comparison]):
            wins[:, winner, loser] += picks[:, c] * scale
    return wins


def _batched_ilsr(
    wins: np.ndarray, *, alpha: float, max_iter: int = 100, tol: float = 1e-8
) -> np.ndarray:
    """choix's I-LSR (`choix.ilsr_pairwise`: the same Markov chain, stationary distribution,
    normalisation and convergence test) run on a batch of win-count matrices at once: strengths
    `[r, i]`, mean 0 per replicate. One fit of a few items costs choix a hundred small scipy
    calls; a bootstrap of hundreds of replicates is one batched solve per iteration instead.

    Raises:
        RuntimeError: a replicate did not converge in `max_iter` iterations (as choix).
    """
    batch, n = wins.shape[0], wins.shape[1]
    diagonal = np.arange(n)
    losses_to = wins.transpose(0, 2, 1)  # [r, l, w]: the rate from loser l to winner w
    ones_row = np.zeros((batch, n))
    ones_row[:, -1] = n  # the solution is scaled to sum to n, as choix's `statdist`
    weights = np.ones((batch, n))
    previous: np.ndarray | None = None
    for _ in range(max_iter):
        chain = alpha + losses_to / (weights[:, :, None] + weights[:, None, :])
        chain[:, diagonal, diagonal] = 0.0
        chain[:, diagonal, diagonal] = -chain.sum(axis=2)
        # pi Q = 0 with sum(pi) = n: Q's transpose with its last equation replaced by the sum.
        system = chain.transpose(0, 2, 1).copy()
        system[:, -1, :] = 1.0
        dist = np.linalg.solve(system, ones_row[:, :, None])[:, :, 0]
        params: np.ndarray = np.log(dist)
        params -= params.mean(axis=1, keepdims=True)
        if previous is not None and bool(
            (np.abs(previous - params).sum(axis=1) <= tol * n).all()
        ):
            return params
        previous = params
        weights = np.exp(params)
        weights *= n / weights.sum(axis=1, keepdims=True)
    raise RuntimeError(f"Did not converge after {max_iter} iterations")


@dataclass(frozen=True, kw_only=True)
class Share:
    """One item's share with its interval."""

    item: str
    share: float
    low: float
    high: float


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """Shares of a budget by Bradley-Terry strength, with percentile-bootstrap intervals."""

    shares: tuple[Share, ...]
    n_comparisons: int
    """Comparisons fitted (a human's counts once here, whatever its weight)."""
    n_human: int
    human_weight: float
    """How many model comparisons one human comparison counted as."""
    n_boot: int
    level: float
    model_weights: Mapping[str, float] | None = None
    """Per-judge weights of model comparisons, when given (a judge not named counts 1)."""

    def share(self, item: str) -> Share:
        """The share of `item` (KeyError if it is not allocated)."""
        for s in self.shares:
            if s.item == item:
                return s
        raise KeyError(item)


def allocate(
    items: Sequence[str],
    comparisons: Sequence[Comparison],
    *,
    human_weight: float = 1,
    model_weights: Mapping[str, float] | None = None,
    alpha: float = 0.01,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Allocation:
    """Each item's share of a budget: softmax of its Bradley-Terry strength.

    Human comparisons count `human_weight` times. With `model_weights` (judge
    `provider:model` -> weight, 0 or more; a judge not named counts 1) or a human weight that
    is not a whole number, the wins of each comparison are scaled by its weight (a whole human
    weight repeats the comparison, which fits the same). The interval of each share is the
    percentile bootstrap over comparisons (resampled with replacement, refitted `n_boot` times
    with `seed`, each with at least `BOOT_ALPHA` regularisation): it shows how much the
    allocation rests on few comparisons. With `alpha=0` the point estimate is the plain
    maximum-likelihood fit, which exists only when every item has both won and lost against
    the others.
    """
    if human_weight < 1:
        raise ValueError(f"human_weight must be at least 1, got {human_weight}")
    if model_weights is not None or not float(human_weight).is_integer():
        return _allocate_scaled(
            items, comparisons, human_weight=float(human_weight),
            model_weights=dict(model_weights or {}), alpha=alpha, n_boot=n_boot, level=level,
            seed=seed,
        )
    whole = int(human_weight)
    weighted = [
        Comparison(a=c.a, b=c.b, winner=c.winner, source=c.source,
                   weight=c.weight * (whole if c.source == "human" else 1))
        for c in comparisons
    ]
    point = _shares(strengths(len(items), weighted, alpha=alpha))
    return Allocation(
        shares=_with_intervals(items, weighted, point, alpha=alpha, n_boot=n_boot,
                               level=level, seed=seed),
        n_comparisons=len(comparisons),
        n_human=sum(1 for c in comparisons if c.source == "human"),
        human_weight=human_weight,
        n_boot=n_boot,
        level=level,
    )


def _with_intervals(
    items: Sequence[str],
    rows: Sequence[Comparison],
    point: np.ndarray,
    *,
    scales: Sequence[float] | None = None,
    alpha: float,
    n_boot: int,
    level: float,
    seed: int,
) -> tuple[Share, ...]:
    """Each item's share at `point`, with the percentile bootstrap interval over `rows`
    (resampled with replacement, each replicate's wins scaled by `scales` when given)."""
    n = len(items)
    rng = np.random.default_rng(seed)
    # A resample in which an item never wins has no unregularised fit: the replicates are fitted
    # with at least BOOT_ALPHA.
    boot_alpha = max(alpha, BOOT_ALPHA)
    picks = np.zeros((n_boot, len(rows)))
    for i in range(n_boot):
        if rows:
            picks[i] = np.bincount(rng.integers(0, len(rows), len(rows)), minlength=len(rows))
    draws = (
        _shares(_batched_ilsr(_win_counts(n, rows, picks, scales), alpha=boot_alpha))
        if n > 1 and rows and n_boot else np.full((n_boot, n), 1.0 / n)
    )
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0) if n_boot else (point, point)
    return tuple(
        Share(item=item, share=float(point[k]), low=float(low[k]), high=float(high[k]))
        for k, item in enumerate(items)
    )


def _allocate_scaled(
    items: Sequence[str],
    comparisons: Sequence[Comparison],
    *,
    human_weight: float,
    model_weights: dict[str, float],
    alpha: float,
    n_boot: int,
    level: float,
    seed: int,
) -> Allocation:
    """`allocate` with real-valued weights: each comparison's wins scaled by its weight."""
    bad = {j: w for j, w in model_weights.items() if not (math.isfinite(w) and w >= 0)}
    if bad:
        raise ValueError(f"model judge weights must be finite and at least 0, got {bad}")
    scales = [
        c.weight * (human_weight if c.source == "human"
                    else model_weights.get(c.judge or "", 1.0))
        for c in comparisons
    ]
    n = len(items)
    if n > 1 and comparisons and any(s > 0 for s in scales):
        ones = np.ones((1, len(comparisons)))
        point = _shares(_batched_ilsr(_win_counts(n, comparisons, ones, scales),
                                      alpha=max(alpha, 1e-12))[0])
    else:
        point = np.full(n, 1.0 / n)
    return Allocation(
        shares=_with_intervals(items, comparisons, point, scales=scales, alpha=alpha,
                               n_boot=n_boot, level=level, seed=seed),
        n_comparisons=len(comparisons),
        n_human=sum(1 for c in comparisons if c.source == "human"),
        human_weight=human_weight,
        n_boot=n_boot,
        level=level,
        model_weights=dict(model_weights),
    )


def disagreement(scores: Sequence[float]) -> float:
    """The spread of several judges' scores of one item (max - min; 0 for fewer than two)."""
    finite = [s for s in scores if math.isfinite(s)]
    return max(finite) - min(finite) if len(finite) >= 2 else 0.0


def majority_spread(scores: Sequence[float]) -> float:
    """The spread (max - min) of the tightest strict majority of `scores` (0 for fewer than
    two): how far apart the judges who agree most are. Adding judges can only widen
    `disagreement`; this narrows when the added judges side with one camp, so it tells whether
    asking more judges settled a disagreement (an outlier outvoted) or not."""
    finite = sorted(s for s in scores if math.isfinite(s))
    if len(finite) < 2:
        return 0.0
    size = len(finite) // 2 + 1
    return min(finite[k + size - 1] - finite[k] for k in range(len(finite) - size + 1))


__all__ = [
    "Allocation",
    "Choice",
    "Comparison",
    "PairwiseChoice",
    "RubricScore",
    "Share",
    "allocate",
    "disagreement",
    "majority_spread",
    "read_swapped",
    "strengths",
]
