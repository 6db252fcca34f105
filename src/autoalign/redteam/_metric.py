"""One measured number, as the red-team report's JSON holds it and the safety case binds to it.

Every estimator of the red team returns `Metric`s: a name, the keys that say what it is about
(which critic, which flaw type), the estimate, n, an interval and the method behind the interval.
The shape is versioned (`SCHEMA_VERSION`) and documented in `docs/redteam.md`.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID: Final = "autoalign.redteam.report"
"""The `schema` field of every report JSON."""
SCHEMA_VERSION = 1
"""Bumped whenever a metric's name, keys or meaning changes; a safety case states the version it
was written against."""

MetricName = Literal[
    "recall",
    "false_alarm_rate",
    "brier",
    "log_loss",
    "ece",
    "joint_miss_rate",
    "independent_miss_product",
    "miss_phi",
    "miss_odds_ratio_mh",
    "escape_observed",
    "escape_independent",
    "recall_difference",
    "mcnemar_exact_p",
    "population_size",
    "estimator_bias",
    "realism_auc",
    "flaw_survival",
    "accepted_flaw_rate",
]
"""Every metric the report computes; `docs/redteam.md` defines each one's keys and n."""

Detail = dict[str, float | int | str | bool | None]


class MetricInterval(BaseModel):
    """A two-sided interval around an estimate."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    low: float
    """Lower end."""
    high: float
    """Upper end."""
    level: float
    """Nominal coverage, e.g. 0.95."""


class Metric(BaseModel):
    """One number of the red-team report."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: MetricName
    """What is measured (`recall`, `false_alarm_rate`, ...)."""
    keys: dict[str, str]
    """What it is about: `critic`, `flaw_type`, `origin`, `critic_a`/`critic_b`, `critics`,
    `estimator`, `population`, `organism`, `without`, depending on the metric."""
    estimate: float | None
    """The point estimate; None when it is not defined on these data (a phi coefficient with a
    margin of zero, an odds ratio with an empty denominator)."""
    n: int
    """How many units the estimate rests on (trials, subjects, flaws, papers: see each metric)."""
    interval: MetricInterval | None
    """The interval, or None when there is none (n too small, or the method gives none)."""
    method: str
    """How the estimate and its interval were computed (`wilson`, `clopper-pearson`,
    `bootstrap-percentile`, `mantel-haenszel`, ...)."""
    detail: Detail = Field(default_factory=dict)
    """Counts and test results behind the estimate (successes, discordant pairs, p-values)."""

    def key(self) -> tuple[str, tuple[tuple[str, str], ...], str]:
        """(name, sorted keys, method): what identifies this metric within one report."""
        return self.name, tuple(sorted(self.keys.items())), self.method


def interval(low: float, high: float, level: float) -> MetricInterval:
    """A `MetricInterval` of plain floats."""
    return MetricInterval(low=float(low), high=float(high), level=level)


__all__ = ["SCHEMA_ID", "SCHEMA_VERSION", "Detail", "Metric", "MetricInterval", "MetricName"]
