"""Calibration statistics: pure functions of predicted probabilities `p` and outcomes `y`.

`p` holds probabilities in [0, 1]; `y` holds outcomes 0/1 (or booleans), one per prediction.
Every function validates its inputs and raises `ValueError` on arrays that are not of that shape;
`docs/statistics.md` gives the formulas and the caveats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

StatFn = Callable[[FloatArray, FloatArray], float]
"""A statistic of (predictions, outcomes), as `bootstrap_interval` takes it."""


def as_arrays(p: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """`p` and `y` as 1-d float arrays, checked: same non-zero length, p in [0, 1], y in {0, 1}.

    Raises:
        ValueError: the inputs are not probabilities and binary outcomes of one length.
    """
    pa = np.asarray(p, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if pa.ndim != 1 or ya.ndim != 1:
        raise ValueError(f"p and y must be 1-d arrays, got shapes {pa.shape} and {ya.shape}")
    if pa.shape != ya.shape:
        raise ValueError(f"p and y differ in length: {pa.size} predictions, {ya.size} outcomes")
    if pa.size == 0:
        raise ValueError("no predictions: p and y are empty")
    if not np.all((pa >= 0.0) & (pa <= 1.0)):  # also rejects NaN
        bad = pa[~((pa >= 0.0) & (pa <= 1.0))][0]
        raise ValueError(f"every prediction must be a probability in [0, 1]; found {bad!r}")
    if not np.all((ya == 0.0) | (ya == 1.0)):
        bad = ya[~((ya == 0.0) | (ya == 1.0))][0]
        raise ValueError(f"every outcome must be 0 or 1; found {bad!r}")
    return pa, ya


def brier_score(p: ArrayLike, y: ArrayLike) -> float:
    """Mean squared difference between prediction and outcome: `mean((p - y)**2)`.

    0 is perfect; always predicting 0.5 scores 0.25. Equals scikit-learn's `brier_score_loss`.
    """
    pa, ya = as_arrays(p, y)
    return float(np.mean((pa - ya) ** 2))


def log_loss(p: ArrayLike, y: ArrayLike, *, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood: `-mean(y*log(p) + (1-y)*log(1-p))`, natural log.

    `p` is first clipped to `[eps, 1 - eps]`, so a confident wrong prediction costs
    `-log(eps)` (about 34.5 for the default) instead of infinity.
    """
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5); got {eps!r}")
    pa, ya = as_arrays(p, y)
    pc = np.clip(pa, eps, 1.0 - eps)
    return float(-np.mean(ya * np.log(pc) + (1.0 - ya) * np.log1p(-pc)))


def equal_mass_bins(p: ArrayLike, n_bins: int) -> list[NDArray[np.intp]]:
    """Indices of `p` split into at most `n_bins` bins of (nearly) equal count, by rank of `p`.

    The exact rule, which `expected_calibration_error` and `reliability_bins` share:

    1. Sort the indices by `p` with a stable sort (ties keep their input order).
    2. Cut the sorted indices as `numpy.array_split` cuts `n` items into `B = min(n_bins, n)`
       chunks: the first `n % B` chunks hold `n // B + 1` items, the rest `n // B`.
    3. Ties: a cut that falls inside a run of equal predictions moves forward to the end of that
       run, so equal predictions always share a bin (the result then does not depend on the
       input order). Cuts that coincide merge their bins, so there can be fewer than `B` bins,
       and none is empty.

    Returns the bins in increasing order of prediction; each holds indices into `p`.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1; got {n_bins}")
    pa = np.asarray(p, dtype=np.float64)
    n = pa.size
    order = np.argsort(pa, kind="stable")
    if n == 0:
        return []
    ranked = pa[order]
    b = min(n_bins, n)
    nominal = [k * (n // b) + min(k, n % b) for k in range(1, b)]
    # A cut at c separates ranked[c-1] from ranked[c]; move it past every value equal to
    # ranked[c-1].
    cuts = sorted({int(np.searchsorted(ranked, ranked[c - 1], side="right")) for c in nominal})
    cuts = [c for c in cuts if c < n]
    return list(np.split(order, cuts))


def expected_calibration_error(p: ArrayLike, y: ArrayLike, *, n_bins: int = 10) -> float:
    """Expected calibration error with equal-mass bins.

    `ECE = sum_b (n_b / n) * |mean(y_b) - mean(p_b)|` over the bins of `equal_mass_bins(p,
    n_bins)`: sort by prediction, split into `min(n_bins, n)` nearly equal chunks (the first
    `n % B` chunks one larger), equal predictions kept in one bin by moving a cut to the end of
    their run. 0 means every bin's observed frequency equals its mean prediction.
    """
    pa, ya = as_arrays(p, y)
    n = pa.size
    return float(
        sum(
            idx.size / n * abs(float(np.mean(ya[idx])) - float(np.mean(pa[idx])))
            for idx in equal_mass_bins(pa, n_bins)
        )
    )


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


@dataclass(frozen=True, kw_only=True)
class Interval:
    """A two-sided confidence interval."""

    low: float
    high: float
    level: float
    """Nominal coverage, e.g. 0.95."""


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion (no continuity correction).

    With `z` the standard normal `(1 + level) / 2` quantile and `p̂ = k / n`:
    `(p̂ + z²/2n ± z·sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)`. Its ends are exactly 0 when
    `k = 0` and exactly 1 when `k = n`.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1; got {successes}/{n}")
    z = _z(level)
    phat = successes / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * np.sqrt(phat * (1.0 - phat) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low=float(low), high=float(high), level=level)


@dataclass(frozen=True, kw_only=True)
class ReliabilityBin:
    """One equal-mass bin of a reliability diagram."""

    mean_predicted: float
    """Mean prediction of the bin's claims."""
    observed_frequency: float
    """Fraction of the bin's claims whose outcome is 1."""
    count: int
    """Claims in the bin."""
    positives: int
    """Claims in the bin whose outcome is 1."""
    ci_low: float
    """Lower end of the Wilson interval for `observed_frequency`."""
    ci_high: float
    """Upper end of the Wilson interval for `observed_frequency`."""
    p_min: float
    """Smallest prediction in the bin."""
    p_max: float
    """Largest prediction in the bin."""


def reliability_bins(
    p: ArrayLike, y: ArrayLike, *, n_bins: int = 10, level: float = 0.95
) -> list[ReliabilityBin]:
    """Per-bin mean prediction, observed frequency, count and Wilson interval.

    The bins are `equal_mass_bins(p, n_bins)`, in increasing order of prediction.
    """
    pa, ya = as_arrays(p, y)
    bins = []
    for idx in equal_mass_bins(pa, n_bins):
        k = int(np.sum(ya[idx]))
        wilson = wilson_interval(k, idx.size, level=level)
        bins.append(
            ReliabilityBin(
                mean_predicted=float(np.mean(pa[idx])),
                observed_frequency=k / idx.size,
                count=int(idx.size),
                positives=k,
                ci_low=wilson.low,
                ci_high=wilson.high,
                p_min=float(np.min(pa[idx])),
                p_max=float(np.max(pa[idx])),
            )
        )
    return bins


@dataclass(frozen=True, kw_only=True)
class BootstrapInterval:
    """A percentile bootstrap interval of a statistic."""

    low: float
    high: float
    level: float
    """Nominal coverage, e.g. 0.95."""
    n_boot: int
    """Bootstrap replicates drawn."""


def bootstrap_interval(
    stat_fn: StatFn,
    p: ArrayLike,
    y: ArrayLike,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Percentile bootstrap interval of `stat_fn(p, y)`.

    Each of `n_boot` replicates resamples the n (prediction, outcome) pairs, i.e. the claims,
    with replacement (n draws, `numpy.random.default_rng(seed)`), and computes the statistic on
    the resample. The interval is the `(1 - level) / 2` and `(1 + level) / 2` quantiles of the
    replicates (numpy's default linear interpolation). Pairs are treated as independent; see
    `docs/statistics.md` for why that is optimistic for claims that share provenance.
    Same inputs and seed give the same interval.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1; got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    pa, ya = as_arrays(p, y)
    rng = np.random.default_rng(seed)
    n = pa.size
    replicates = np.empty(n_boot, dtype=np.float64)
    for i in range(n_boot):
        idx = rng.integers(0, n, size=n)
        replicates[i] = stat_fn(pa[idx], ya[idx])
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return BootstrapInterval(low=float(low), high=float(high), level=level, n_boot=n_boot)
