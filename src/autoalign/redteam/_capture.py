"""Capture-recapture: how many flaws are there, counting the ones no critic found?

Each critic is a sampling occasion and each flaw an animal: a flaw's *detection history* is the
set of critics that found it. From the histories of the flaws found at least once the
estimators below guess the total, found or not: Lincoln-Petersen and Chapman from two critics,
Chao's lower bound and the first-order jackknife (Burnham-Overton) from k critics. On injected
flaws the truth is known, so `estimator_bias` measures how far each estimator is off before it
is trusted on organic flaws. Definitions, assumptions and caveats: `docs/statistics.md`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

from ..errors import DataError
from ._metric import Metric, interval

History = Collection[str]
"""The critics that found one flaw (empty: found by none, possible only for injected flaws)."""


@dataclass(frozen=True, kw_only=True)
class PopulationEstimate:
    """An estimate of the total number of flaws, found or not."""

    estimator: str
    """`lincoln-petersen`, `chapman`, `chao` or `jackknife1`."""
    observed: int
    """Distinct flaws found by at least one of the critics used."""
    estimate: float | None
    """Estimated total (None when undefined, e.g. Lincoln-Petersen with no flaw found twice)."""
    low: float | None
    """Lower end of the interval (never below `observed`)."""
    high: float | None
    """Upper end of the interval."""
    level: float
    """Nominal coverage of the interval."""
    variance: float | None
    """Estimated variance of `estimate`."""

    @property
    def unseen(self) -> float | None:
        """Estimated flaws no critic found."""
        return None if self.estimate is None else self.estimate - self.observed


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _log_normal(
    observed: int, estimate: float, variance: float, level: float
) -> tuple[float, float]:
    """Chao's (1987) interval: the unseen count `f0 = N - S` is taken as log-normal, so the
    interval is `[S + f0 / C, S + f0 * C]`, `C = exp(z sqrt(ln(1 + var / f0²)))`; it never goes
    below the observed count."""
    f0 = estimate - observed
    if f0 <= 0 or variance <= 0:
        return float(observed), float(estimate)
    c = math.exp(_z(level) * math.sqrt(math.log(1.0 + variance / (f0 * f0))))
    return observed + f0 / c, observed + f0 * c


def _two(histories: Sequence[History], a: str, b: str) -> tuple[int, int, int]:
    if a == b:
        raise DataError(f"capture-recapture needs two different critics; got {a!r} twice")
    n1 = sum(1 for h in histories if a in h)
    n2 = sum(1 for h in histories if b in h)
    m = sum(1 for h in histories if a in h and b in h)
    return n1, n2, m


def lincoln_petersen(
    histories: Sequence[History], a: str, b: str, *, level: float = 0.95
) -> PopulationEstimate:
    """Lincoln-Petersen: `N = n1 n2 / m` (n1, n2: flaws critic a, b found; m: found by both).
    Undefined (None) when m = 0; biased upwards for small m (prefer `chapman`). Its variance
    `n1 n2 (n1 - m)(n2 - m) / m³` gives a log-normal interval."""
    n1, n2, m = _two(histories, a, b)
    s = n1 + n2 - m
    if m == 0:
        return PopulationEstimate(
            estimator="lincoln-petersen", observed=s, estimate=None, low=None, high=None,
            level=level, variance=None,
        )
    est = n1 * n2 / m
    var = n1 * n2 * (n1 - m) * (n2 - m) / m**3
    low, high = _log_normal(s, est, var, level)
    return PopulationEstimate(
        estimator="lincoln-petersen", observed=s, estimate=est, low=low, high=high, level=level,
        variance=var,
    )


def chapman(
    histories: Sequence[History], a: str, b: str, *, level: float = 0.95
) -> PopulationEstimate:
    """Chapman's nearly unbiased form of Lincoln-Petersen: `N = (n1 + 1)(n2 + 1) / (m + 1) - 1`,
    with Seber's variance `(n1 + 1)(n2 + 1)(n1 - m)(n2 - m) / ((m + 1)² (m + 2))` and a
    log-normal interval. Defined even when m = 0."""
    n1, n2, m = _two(histories, a, b)
    s = n1 + n2 - m
    est = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    low, high = _log_normal(s, est, var, level)
    return PopulationEstimate(
        estimator="chapman", observed=s, estimate=est, low=low, high=high, level=level,
        variance=var,
    )


def frequency_counts(histories: Sequence[History]) -> dict[int, int]:
    """`f_j`: how many flaws exactly j critics found, for j >= 1."""
    counts: dict[int, int] = {}
    for h in histories:
        j = len(set(h))
        if j:
            counts[j] = counts.get(j, 0) + 1
    return counts


def _check_k(histories: Sequence[History], critics: Collection[str]) -> int:
    k = len(set(critics))
    if k < 2:
        raise DataError(f"capture-recapture needs at least two critics; got {sorted(critics)}")
    stray = {c for h in histories for c in h} - set(critics)
    if stray:
        raise DataError(
            f"histories name critics {sorted(stray)} that are not among the critics "
            f"{sorted(critics)}; pass every critic that looked"
        )
    return k


def chao(
    histories: Sequence[History], critics: Collection[str], *, level: float = 0.95
) -> PopulationEstimate:
    """Chao's lower bound for k sampling occasions (Chao 1987), from the flaws found by exactly
    one (f1) and exactly two (f2) of the k critics:
    `N = S + ((k - 1) / k) f1² / (2 f2)`, or the bias-corrected
    `S + ((k - 1) / k) f1 (f1 - 1) / 2` when f2 = 0; variance as in Chao (1987) / EstimateS,
    log-normal interval. A lower bound: with strong heterogeneity it still underestimates."""
    k = _check_k(histories, critics)
    f = frequency_counts(histories)
    s = sum(f.values())
    f1, f2 = f.get(1, 0), f.get(2, 0)
    a = (k - 1) / k
    if f2 > 0:
        est = s + a * f1 * f1 / (2 * f2)
        r = f1 / f2
        var = f2 * (a / 2 * r**2 + a * a * r**3 + a * a / 4 * r**4)
    else:
        est = s + a * f1 * (f1 - 1) / 2
        var = (
            a * f1 * (f1 - 1) / 2
            + a * a * f1 * (2 * f1 - 1) ** 2 / 4
            - a * a * f1**4 / (4 * est)
        ) if est > 0 else 0.0
    low, high = _log_normal(s, est, max(var, 0.0), level)
    return PopulationEstimate(
        estimator="chao", observed=s, estimate=est, low=low, high=high, level=level,
        variance=max(var, 0.0),
    )


def jackknife1(
    histories: Sequence[History], critics: Collection[str], *, level: float = 0.95
) -> PopulationEstimate:
    """First-order jackknife (Burnham and Overton 1978): `N = S + ((k - 1) / k) f1`.

    Leaving critic j out loses the `u_j` flaws only it found, `S_(-j) = S - u_j`; the jackknife
    variance is `((k - 1) / k) Σ_j (S_(-j) - mean S_(-)))²` (Heltshe and Forrester 1983), and
    the interval is normal, cut at the observed count."""
    k = _check_k(histories, critics)
    kept = [set(h) for h in histories if h]
    s = len(kept)
    names = sorted(set(critics))
    unique = [sum(1 for h in kept if h == {c}) for c in names]
    f1 = sum(unique)
    est = s + (k - 1) / k * f1
    mean = sum(s - u for u in unique) / k
    var = (k - 1) / k * sum((s - u - mean) ** 2 for u in unique)
    half = _z(level) * math.sqrt(var)
    return PopulationEstimate(
        estimator="jackknife1", observed=s, estimate=est, low=max(float(s), est - half),
        high=est + half, level=level, variance=var,
    )


def population_estimates(
    histories: Sequence[History], critics: Collection[str], *, level: float = 0.95
) -> list[PopulationEstimate]:
    """Chao and the jackknife over all critics, then Lincoln-Petersen and Chapman per pair."""
    names = sorted(set(critics))
    out = [chao(histories, names, level=level), jackknife1(histories, names, level=level)]
    for a, b in combinations(names, 2):
        out += [
            lincoln_petersen(histories, a, b, level=level),
            chapman(histories, a, b, level=level),
        ]
    return out


def _pair_keys(e: PopulationEstimate, pair: tuple[str, str] | None) -> dict[str, str]:
    keys = {"estimator": e.estimator}
    if pair:
        keys |= {"critic_a": pair[0], "critic_b": pair[1]}
    return keys


def _pairs(names: list[str]) -> list[tuple[str, str] | None]:
    return [None, None] + [p for p in combinations(names, 2) for _ in range(2)]


def population_metrics(
    histories: Sequence[History], critics: Collection[str], *, population: str,
    level: float = 0.95,
) -> list[Metric]:
    """`population_size` metrics of every estimator (n: flaws found at least once;
    `detail.unseen`: estimated flaws no critic found)."""
    names = sorted(set(critics))
    out: list[Metric] = []
    for e, pair in zip(
        population_estimates(histories, names, level=level), _pairs(names), strict=True
    ):
        out.append(
            Metric(
                name="population_size", keys={**_pair_keys(e, pair), "population": population},
                estimate=e.estimate, n=e.observed,
                interval=interval(e.low, e.high, level)
                if e.low is not None and e.high is not None else None,
                method=e.estimator, detail={"unseen": e.unseen, "critics": len(names)},
            )
        )
    return out


def estimator_bias(
    histories: Sequence[History], critics: Collection[str], *, true_total: int,
    level: float = 0.95,
) -> list[Metric]:
    """Each estimator on flaws whose total is known (injected ones): `estimator_bias` with
    estimate = estimated total - true total, n = the true total, and in `detail` the estimate,
    the truth, the relative bias and whether the interval covered the truth.

    `histories` may include empty ones (injected flaws nobody found); the estimators never see
    those, only the truth does.

    Raises:
        DataError: `true_total` is below the number of flaws found.
    """
    names = sorted(set(critics))
    found = sum(1 for h in histories if h)
    if true_total < found:
        raise DataError(
            f"true_total {true_total} is less than the {found} flaws the critics found; pass the "
            "number of injected flaws"
        )
    out: list[Metric] = []
    for e, pair in zip(
        population_estimates(histories, names, level=level), _pairs(names), strict=True
    ):
        bias = None if e.estimate is None else e.estimate - true_total
        covered = (
            None if e.low is None or e.high is None else e.low <= true_total <= e.high
        )
        out.append(
            Metric(
                name="estimator_bias", keys=_pair_keys(e, pair), estimate=bias, n=true_total,
                interval=interval(e.low - true_total, e.high - true_total, level)
                if e.low is not None and e.high is not None else None,
                method=e.estimator,
                detail={
                    "estimate": e.estimate, "truth": true_total, "observed": e.observed,
                    "relative_bias": None if bias is None or true_total == 0
                    else bias / true_total,
                    "interval_covers_truth": covered,
                },
            )
        )
    return out


__all__ = [
    "History",
    "PopulationEstimate",
    "chao",
    "chapman",
    "estimator_bias",
    "frequency_counts",
    "jackknife1",
    "lincoln_petersen",
    "population_estimates",
    "population_metrics",
]
