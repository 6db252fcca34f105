"""Scores with bootstrap intervals, gathered into one calibration report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Literal

from numpy.typing import ArrayLike

from ..vocabulary import ClaimSource
from ._metrics import (
    ReliabilityBin,
    StatFn,
    as_arrays,
    bootstrap_interval,
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_bins,
)

Statistic = Literal["brier", "log_loss", "ece"]
"""The statistics a report holds, in report order."""

SkipReason = Literal[
    "no_question", "no_probability", "bad_probability", "unknown_testbed", "unknown_question"
]
"""Why a claim was not scored:

- `no_question`: the claim names no testbed question (most paper claims);
- `no_probability`: it names a question but gives no probability;
- `bad_probability`: its probability is not a number in [0, 1];
- `unknown_testbed`: no ground truth could be had for its testbed;
- `unknown_question`: the testbed's ground truth has no such question.
"""


@dataclass(frozen=True, kw_only=True)
class Score:
    """One statistic with its percentile-bootstrap interval."""

    statistic: Statistic
    value: float
    """The statistic on all scored claims."""
    ci_low: float
    """Lower end of the bootstrap interval."""
    ci_high: float
    """Upper end of the bootstrap interval."""
    level: float
    """Nominal coverage of the interval, e.g. 0.95."""
    n: int
    """Claims the statistic was computed on."""
    n_boot: int
    """Bootstrap replicates behind the interval."""

    @property
    def has_interval(self) -> bool:
        """Whether the interval says anything: with fewer than `MIN_N_FOR_INTERVAL` claims every
        resample is the one claim, so the interval collapses onto the value."""
        return self.n >= MIN_N_FOR_INTERVAL


MIN_N_FOR_INTERVAL = 2
"""Fewest claims whose bootstrap interval is reported as an interval (`Score.has_interval`)."""

GroupBy = Literal["source", "model"]
"""How a `GroupReport` cuts the claims: `source` holds every claim of one source; `model` the
claims of one source stated by one model (or by none, as a study's)."""


@dataclass(frozen=True, kw_only=True)
class ScoredClaim:
    """A claim that was scored, with the ground truth it was scored against."""

    claim_id: int
    artifact_id: int
    testbed: str
    question_id: str
    probability: float
    """The claim's probability that the question's answer is "yes"."""
    source: ClaimSource
    """Who produced the probability: `study` (a formula) or `pipeline` (an agent)."""
    model: str | None
    """The model that stated it (`provider:model`); None for a study's claim."""
    outcome: bool
    """The ground-truth answer to the question."""
    truth_version: str
    """Version of the testbed question the ground truth was computed for."""


@dataclass(frozen=True, kw_only=True)
class SkippedClaim:
    """A claim left out of the scores, and why."""

    claim_id: int
    reason: SkipReason
    detail: str
    """A one-line explanation naming the offending value."""


@dataclass(frozen=True, kw_only=True)
class CalibrationReport:
    """Calibration of a set of probabilistic predictions against their outcomes.

    `scores` is empty, and so is `bins`, when nothing could be scored.
    """

    scores: tuple[Score, ...]
    """Brier score, log loss and ECE, in that order."""
    bins: tuple[ReliabilityBin, ...]
    """Equal-mass reliability bins, in increasing order of prediction."""
    predictions: tuple[float, ...]
    """The scored probabilities."""
    outcomes: tuple[bool, ...]
    """The outcomes, aligned with `predictions`."""
    claims: tuple[ScoredClaim, ...] = ()
    """The scored claims, aligned with `predictions` (empty for a report made from arrays)."""
    skipped: tuple[SkippedClaim, ...] = ()
    """Claims that could not be scored."""
    groups: tuple[GroupReport, ...] = ()
    """The same statistics for the claims of each source, then of each (source, model): a
    formula's calibration says nothing about a model's, nor one model's about another's. Empty
    for a report made from arrays or a group's own report."""
    n_bins: int
    """Bins asked for (equal predictions share a bin, so `bins` can hold fewer)."""
    n_boot: int
    level: float
    seed: int

    @property
    def n(self) -> int:
        """Number of scored predictions."""
        return len(self.predictions)

    def score(self, statistic: Statistic) -> Score:
        """The score of `statistic`.

        Raises:
            KeyError: nothing was scored, so the report has no scores.
        """
        for s in self.scores:
            if s.statistic == statistic:
                return s
        raise KeyError(f"the report has no {statistic} score (it scored {self.n} predictions)")

    def skipped_counts(self) -> dict[SkipReason, int]:
        """How many claims were skipped for each reason."""
        return dict(Counter(s.reason for s in self.skipped))

    def groups_by(self, by: GroupBy) -> tuple[GroupReport, ...]:
        """The groups cut `by` source, or by (source, model), in report order."""
        return tuple(g for g in self.groups if g.by == by)


@dataclass(frozen=True, kw_only=True)
class GroupReport:
    """The calibration of one group of scored claims, computed exactly as the overall report."""

    by: GroupBy
    """`source`: every claim of `source`; `model`: the claims of `source` stated by `model`."""
    source: ClaimSource
    model: str | None
    """The model of a `model` group (None for claims stated by no model, as a study's); always
    None for a `source` group, which holds every model's claims."""
    report: CalibrationReport
    """`calibrate` of the group's claims alone, with the overall report's bins, replicates,
    level and seed; its `claims` are the group's."""

    @property
    def n(self) -> int:
        """Claims in the group."""
        return self.report.n


def calibrate(
    p: ArrayLike,
    y: ArrayLike,
    *,
    n_bins: int = 10,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> CalibrationReport:
    """Brier score, log loss and equal-mass ECE of `p` against `y`, each with its bootstrap
    interval (`bootstrap_interval`, same seed for each), and the reliability bins.

    Raises:
        ValueError: `p` and `y` are not probabilities and 0/1 outcomes of one non-zero length.
    """
    pa, ya = as_arrays(p, y)
    stats: tuple[tuple[Statistic, StatFn], ...] = (
        ("brier", brier_score),
        ("log_loss", log_loss),
        ("ece", partial(expected_calibration_error, n_bins=n_bins)),
    )
    scores = []
    for name, fn in stats:
        ci = bootstrap_interval(fn, pa, ya, n_boot=n_boot, level=level, seed=seed)
        scores.append(
            Score(
                statistic=name,
                value=fn(pa, ya),
                ci_low=ci.low,
                ci_high=ci.high,
                level=level,
                n=int(pa.size),
                n_boot=n_boot,
            )
        )
    return CalibrationReport(
        scores=tuple(scores),
        bins=tuple(reliability_bins(pa, ya, n_bins=n_bins, level=level)),
        predictions=tuple(float(v) for v in pa),
        outcomes=tuple(bool(v) for v in ya),
        n_bins=n_bins,
        n_boot=n_boot,
        level=level,
        seed=seed,
    )
