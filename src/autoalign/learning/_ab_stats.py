"""The statistics of an A/B test on paired tasks: pure functions on plain data.

Every task is run under both arms, so the comparison is paired:

- the difference in correct rate B - A with Newcombe's hybrid score interval for paired
  proportions (Newcombe 1998, method 10) and McNemar's exact test on the discordant pairs;
- for stated probabilities, the paired difference in Brier score B - A with a paired bootstrap
  interval and the Wilcoxon signed-rank test;
- the mixture sequential probability ratio test on discordant pairs, the only early stop
  allowed (it keeps its type-I error at any stopping time, by Ville's inequality).

See `docs/statistics.md`, "A/B tests of components".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..calibration import Interval, wilson_interval
from ..redteam import mcnemar_exact


@dataclass(frozen=True, kw_only=True)
class Pair:
    """One task's outcome under both arms."""

    task: str
    """The task's key."""
    flaw_type: str | None
    """The injected flaw's type; None for a clean control."""
    a_correct: bool
    """Arm A was right (flaw detected; control not flagged)."""
    b_correct: bool
    """Arm B was right."""
    a_probability: float | None = None
    """Arm A's stated probability of a severe flaw, when it gave one."""
    b_probability: float | None = None
    """Arm B's."""
    severe: bool = False
    """The truth the probabilities are scored against: the task has a severe flaw."""


@dataclass(frozen=True, kw_only=True)
class PairedDifference:
    """The paired comparison of correct rates."""

    n: int
    """Tasks (pairs)."""
    both: int
    """Tasks both arms got right."""
    a_only: int
    """Tasks only A got right (discordant, favouring A)."""
    b_only: int
    """Tasks only B got right (discordant, favouring B)."""
    neither: int
    """Tasks neither got right."""
    a_rate: Interval
    """A's correct rate's Wilson interval."""
    b_rate: Interval
    """B's."""
    difference: float
    """B - A = (b_only - a_only) / n."""
    interval: Interval
    """Newcombe's hybrid score interval for the paired difference."""
    mcnemar_p: float
    """McNemar's exact two-sided p-value on the discordant pairs (1.0 without any)."""

    @property
    def discordant(self) -> int:
        """Tasks the arms disagree on."""
        return self.a_only + self.b_only


def newcombe_paired(both: int, a_only: int, b_only: int, neither: int, *,
                    level: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval (1998, method 10, no continuity correction) for the
    paired difference of proportions p_B - p_A, from the 2x2 table of pairs.

    With l_i, u_i the Wilson limits of p_B = (both + b_only)/n and p_A = (both + a_only)/n and
    φ Newcombe's phi coefficient of the table, its numerator `C = both·neither - a_only·b_only`
    shrunk to `max(C - n/2, 0)` when positive (0 when a margin is empty):
    `L = θ - sqrt((p_B - l_B)² - 2φ(p_B - l_B)(u_A - p_A) + (u_A - p_A)²)` and
    `U = θ + sqrt((u_B - p_B)² - 2φ(u_B - p_B)(p_A - l_A) + (p_A - l_A)²)`.

    Raises:
        ValueError: a count is negative or there is no pair.
    """
    counts = (both, a_only, b_only, neither)
    if min(counts) < 0 or sum(counts) < 1:
        raise ValueError(f"need non-negative counts and at least one pair; got {counts}")
    n = sum(counts)
    p_b, p_a = (both + b_only) / n, (both + a_only) / n
    wb, wa = wilson_interval(both + b_only, n, level=level), wilson_interval(both + a_only, n,
                                                                             level=level)
    # Rows: B right / wrong; columns: A right / wrong.
    r1, r2, c1, c2 = both + b_only, a_only + neither, both + a_only, b_only + neither
    denom = r1 * r2 * c1 * c2
    cross = both * neither - b_only * a_only
    adjusted = max(cross - n / 2, 0.0) if cross > 0 else float(cross)
    phi = adjusted / math.sqrt(denom) if denom > 0 else 0.0
    theta = p_b - p_a
    dl, du = p_b - wb.low, wa.high - p_a
    el, eu = wb.high - p_b, p_a - wa.low
    delta = math.sqrt(max(0.0, dl * dl - 2 * phi * dl * du + du * du))
    epsilon = math.sqrt(max(0.0, el * el - 2 * phi * el * eu + eu * eu))
    return Interval(low=max(-1.0, theta - delta), high=min(1.0, theta + epsilon), level=level)


def paired_difference(pairs: Sequence[Pair], *, level: float = 0.95) -> PairedDifference:
    """B - A in correct rate over `pairs`, with Newcombe's interval and McNemar's exact test.

    Raises:
        ValueError: no pairs.
    """
    if not pairs:
        raise ValueError("no paired tasks to compare")
    both = sum(1 for p in pairs if p.a_correct and p.b_correct)
    a_only = sum(1 for p in pairs if p.a_correct and not p.b_correct)
    b_only = sum(1 for p in pairs if p.b_correct and not p.a_correct)
    neither = len(pairs) - both - a_only - b_only
    n = len(pairs)
    return PairedDifference(
        n=n, both=both, a_only=a_only, b_only=b_only, neither=neither,
        a_rate=wilson_interval(both + a_only, n, level=level),
        b_rate=wilson_interval(both + b_only, n, level=level),
        difference=(b_only - a_only) / n,
        interval=newcombe_paired(both, a_only, b_only, neither, level=level),
        mcnemar_p=mcnemar_exact(a_only, b_only),
    )


@dataclass(frozen=True, kw_only=True)
class BrierDifference:
    """The paired comparison of stated probabilities (tasks where both arms gave one)."""

    n: int
    """Tasks where both arms stated a probability."""
    a_brier: float
    """A's Brier score on them."""
    b_brier: float
    """B's."""
    difference: float
    """B - A (negative: B's probabilities are better)."""
    interval: Interval | None
    """Paired percentile bootstrap interval of the difference (None with fewer than 2 tasks)."""
    wilcoxon_p: float
    """Two-sided Wilcoxon signed-rank p-value of the per-task differences (zero differences
    dropped; 1.0 when every difference is zero)."""


def paired_bootstrap_mean(differences: Sequence[float], *, n_boot: int = 2000,
                          level: float = 0.95, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of paired differences, resampling tasks with
    replacement (`numpy.random.default_rng(seed)`).

    Raises:
        ValueError: fewer than 2 differences, or a bad `n_boot` / `level`.
    """
    if len(differences) < 2:
        raise ValueError("a bootstrap interval needs at least 2 paired tasks")
    if n_boot < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"need n_boot >= 1 and 0 < level < 1; got {n_boot}, {level}")
    d = np.asarray(differences, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_boot, d.size))
    means = d[idx].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(low=float(low), high=float(high), level=level)


def wilcoxon_p(differences: Sequence[float]) -> float:
    """Two-sided p-value of scipy's Wilcoxon signed-rank test of the differences (zeros
    dropped, exact distribution for small n without ties); 1.0 when all are zero."""
    from scipy.stats import wilcoxon  # type: ignore[import-untyped]

    d = [x for x in differences if x != 0.0]
    if not d:
        return 1.0
    return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def brier_difference(pairs: Sequence[Pair], *, level: float = 0.95, n_boot: int = 2000,
                     seed: int = 0) -> BrierDifference | None:
    """B - A in Brier score over the tasks where both arms stated a probability (None when
    there is none)."""
    scored = [p for p in pairs if p.a_probability is not None and p.b_probability is not None]
    if not scored:
        return None
    y = np.array([float(p.severe) for p in scored])
    a = (np.array([p.a_probability for p in scored], dtype=np.float64) - y) ** 2
    b = (np.array([p.b_probability for p in scored], dtype=np.float64) - y) ** 2
    d = list(b - a)
    return BrierDifference(
        n=len(scored), a_brier=float(a.mean()), b_brier=float(b.mean()),
        difference=float(np.mean(d)),
        interval=paired_bootstrap_mean(d, n_boot=n_boot, level=level, seed=seed)
        if len(d) >= 2 else None,
        wilcoxon_p=wilcoxon_p(d),
    )


def mixture_log_lr(b_wins: int, discordant: int) -> float:
    """Log of the Beta(1,1)-mixture likelihood ratio of `b_wins` discordant pairs favouring B
    out of `discordant`, against p = 1/2:
    `log ∫ p^s (1-p)^(k-s) dp - k log ½ = log B(s+1, k-s+1) + k log 2`.

    Raises:
        ValueError: the counts are impossible.
    """
    if not 0 <= b_wins <= discordant:
        raise ValueError(f"need 0 <= b_wins <= discordant; got {b_wins}/{discordant}")
    s, k = b_wins, discordant
    return (math.lgamma(s + 1) + math.lgamma(k - s + 1) - math.lgamma(k + 2)
            + k * math.log(2.0))


@dataclass(frozen=True, kw_only=True)
class SequentialResult:
    """The mixture SPRT run over tasks in the order they finished."""

    alpha: float
    """The type-I error it keeps."""
    stopped_after: int | None
    """Tasks finished when the likelihood ratio first reached 1/alpha; None: it never did."""
    likelihood_ratio: float
    """The ratio at the stop (or after the last task when it did not stop)."""
    discordant: int
    """Discordant pairs seen up to then."""
    b_wins: int
    """Of them, favouring B."""

    @property
    def stopped(self) -> bool:
        """The test rejected 'the arms are equally good' and stopped the experiment."""
        return self.stopped_after is not None


def mixture_sprt(outcomes: Sequence[tuple[bool, bool]], *, alpha: float) -> SequentialResult:
    """The mixture SPRT on the discordant pairs of `outcomes` ((A correct, B correct) per task,
    in the order the tasks finished), checked after each task.

    Under H0 a discordant pair favours B with probability 1/2; the Beta(1,1)-mixture
    likelihood ratio against 1/2 is then a nonnegative martingale with mean 1, so by Ville's
    inequality it ever reaches 1/alpha with probability at most alpha, whenever one looks.

    Raises:
        ValueError: alpha is not in (0, 1).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    bound = math.log(1.0 / alpha)
    k = s = 0
    log_lr = 0.0
    for i, (a, b) in enumerate(outcomes, start=1):
        if a != b:
            k += 1
            s += int(b)
            log_lr = mixture_log_lr(s, k)
            if log_lr >= bound:
                return SequentialResult(alpha=alpha, stopped_after=i,
                                        likelihood_ratio=math.exp(log_lr), discordant=k,
                                        b_wins=s)
    return SequentialResult(alpha=alpha, stopped_after=None, likelihood_ratio=math.exp(log_lr),
                            discordant=k, b_wins=s)


def null_rejection_rate(*, alpha: float, sequences: int, length: int, seed: int) -> tuple[int,
                                                                                          int]:
    """Simulate `sequences` null sequences of `length` discordant pairs (each favouring B with
    probability 1/2) and count those where the mixture SPRT stops: (rejections, sequences).
    Vectorised; the same seed gives the same count."""
    rng = np.random.default_rng(seed)
    wins = np.cumsum(rng.integers(0, 2, size=(sequences, length)), axis=1)
    k = np.arange(1, length + 1)
    from scipy.special import gammaln  # type: ignore[import-untyped]

    log_lr = gammaln(wins + 1) + gammaln(k - wins + 1) - gammaln(k + 2) + k * math.log(2.0)
    rejected = int(np.any(log_lr >= math.log(1.0 / alpha), axis=1).sum())
    return rejected, sequences


__all__ = [
    "BrierDifference",
    "Pair",
    "PairedDifference",
    "SequentialResult",
    "brier_difference",
    "mixture_log_lr",
    "mixture_sprt",
    "newcombe_paired",
    "null_rejection_rate",
    "paired_bootstrap_mean",
    "paired_difference",
    "wilcoxon_p",
]
