"""The red-team report's content: every metric from the trials and the small plain inputs beside
them, in one versioned, JSON-serialisable model (`RedteamReport`).

`build_report` computes; `_render` writes Markdown and HTML, `_figures` the figures. A section
without data is named in `RedteamReport.empty` with the reason, never an error.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..calibration import CalibrationReport
from ._capture import estimator_bias, population_metrics
from ._metric import SCHEMA_ID, SCHEMA_VERSION, Metric, MetricName
from ._misses import escape, miss_correlation
from ._rates import (
    FlawedTable,
    calibration_by_critic,
    calibration_metrics,
    check_trials,
    compare_pairs,
    false_alarms,
    flagged_controls,
    flawed_table,
    recall,
)
from ._realism import realism_auc
from ._survival import OrganismPaper, survival
from ._trial import Trial

Section = Literal[
    "recall",
    "false_alarms",
    "calibration",
    "miss_correlation",
    "comparison",
    "capture_recapture",
    "realism",
    "survival",
]
"""The report's sections, in the order they are rendered."""

SECTIONS: tuple[Section, ...] = (
    "recall", "false_alarms", "calibration", "miss_correlation", "comparison",
    "capture_recapture", "realism", "survival",
)


class TextSample(BaseModel):
    """One subject's text for the realism check."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    text: str
    """The subject as a critic saw it."""
    injected: bool
    """True for a tampered copy (a flaw was injected), False for an organic artifact."""


class OrganicFlaw(BaseModel):
    """One organic flaw (found in real pipeline output, not injected) and the critics that found
    it: a detection history for capture-recapture."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    flaw: str
    """The flaw's key (for the record; the estimators only count)."""
    found_by: frozenset[str]
    """The critics that found it (at least one)."""
    critics: frozenset[str] = frozenset()
    """The critics that looked for it (the capture occasions), when known; empty: the
    trials' critics and those named in `found_by` count as having looked."""


class ReliabilityPoint(BaseModel):
    """One equal-mass bin of a critic's reliability diagram."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    mean_predicted: float
    """Mean stated probability of a severe flaw in the bin."""
    observed_frequency: float
    """Fraction of the bin's subjects whose known flaw is severe."""
    count: int
    """Trials in the bin."""
    ci_low: float
    """Wilson lower end for `observed_frequency`."""
    ci_high: float
    """Wilson upper end for `observed_frequency`."""


class RedteamReport(BaseModel):
    """Every metric of one red-team report (schema `autoalign.redteam.report`, `version`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    schema_id: Literal["autoalign.redteam.report"] = SCHEMA_ID
    """Which schema this is."""
    version: int = SCHEMA_VERSION
    """The schema version (`SCHEMA_VERSION`); bumped whenever a metric changes meaning."""
    level: float
    """Nominal coverage of every interval."""
    n_trials: int
    """Trials read."""
    n_subjects: int
    """Distinct subjects (flawed and controls)."""
    n_controls: int
    """Distinct clean controls."""
    matchers: list[str]
    """The matchers that decided `detected` in the trials reported (`strict`, `llm`)."""
    critics: list[str]
    """Every critic with a trial, sorted."""
    flaw_types: list[str]
    """Every known flaw type among the subjects, sorted."""
    metrics: list[Metric]
    """Every number, each with its n and (where defined) interval."""
    flagged_controls: dict[str, list[str]]
    """Per critic, the clean controls it flagged (for human adjudication)."""
    reliability: dict[str, list[ReliabilityPoint]]
    """Per critic that states probabilities, its reliability diagram's bins."""
    empty: dict[str, str]
    """Sections without data, and why."""

    def has(self, name: MetricName) -> bool:
        """Whether any metric is called `name`."""
        return any(m.name == name for m in self.metrics)

    def select(self, name: MetricName, method: str | None = None, **keys: str) -> list[Metric]:
        """The metrics called `name` whose keys are exactly `keys` (and whose method is
        `method`, when given)."""
        return [
            m for m in self.metrics
            if m.name == name and m.keys == keys and (method is None or m.method == method)
        ]


def report_json_schema() -> dict[str, object]:
    """The JSON Schema of the report's JSON (`RedteamReport`), field descriptions included; the
    copy in `docs/redteam-report.schema.json` is checked against it by a test."""
    schema: dict[str, object] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_ID}/v{SCHEMA_VERSION}",
    }
    schema.update(RedteamReport.model_json_schema())
    return schema


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """A built report and what its figures need beyond the JSON."""

    report: RedteamReport
    """The metrics."""
    calibration: dict[str, CalibrationReport]
    """Each critic's calibration report (for its reliability diagram)."""


def build_report(
    trials: Sequence[Trial],
    *,
    organic: Sequence[OrganicFlaw] = (),
    organic_critics: Collection[str] = (),
    texts: Sequence[TextSample] = (),
    organisms: Sequence[OrganismPaper] = (),
    matcher: str | None = None,
    level: float = 0.95,
    n_boot: int = 1000,
    n_bins: int = 10,
    seed: int = 0,
) -> Analysis:
    """Compute every red-team metric.

    Args:
        trials: the experiment's trials (one critic on one subject each).
        organic: detection histories of organic flaws, for capture-recapture estimates of the
            organic flaws no critic found.
        organic_critics: every critic that looked for organic flaws (a critic that found none
            still counts as an occasion); defaults to the critics the organic flaws name in
            `critics` and `found_by`, or, when none names its `critics`, the trials' critics
            and those named in `found_by`.
        texts: injected and organic subjects' texts, for the realism check.
        organisms: papers of model organisms, for flaw survival.
        matcher: only the trials whose `detected` this matcher decided (`strict`, `llm`); all
            trials by default (then each critic and subject may appear once).
        level: coverage of every interval.
        n_boot: bootstrap replicates per bootstrap interval.
        n_bins: equal-mass bins of the calibration scores.
        seed: seed of every resampling and of the realism check's folds.

    Raises:
        DataError: the trials cannot be paired (one critic twice on a subject, a subject with
            two flaw types), or a probability is outside [0, 1].
    """
    if matcher is not None:
        trials = [t for t in trials if t.matcher == matcher]
    check_trials(trials)
    empty: dict[str, str] = {}
    metrics: list[Metric] = []
    critics = sorted({t.critic for t in trials})

    metrics += recall(trials, level=level)
    if not any(not t.control for t in trials):
        empty["recall"] = "no trials on flawed subjects"
    metrics += false_alarms(trials, level=level)
    if not any(t.control for t in trials):
        empty["false_alarms"] = "no trials on clean controls"

    calib = calibration_by_critic(trials, n_bins=n_bins, n_boot=n_boot, level=level, seed=seed)
    metrics += calibration_metrics(calib)
    if not calib:
        empty["calibration"] = "no critic stated a probability of a severe flaw"

    table = flawed_table(trials)
    found = miss_correlation(table, level=level, n_boot=n_boot, seed=seed)
    if len(table.critics) >= 2:
        found += escape(table, level=level, n_boot=n_boot, seed=seed)
    metrics += found
    if not found:
        empty["miss_correlation"] = "fewer than two critics ran on the same flawed subjects"
    compared = compare_pairs(table, level=level, n_boot=n_boot, seed=seed)
    metrics += compared
    if not compared:
        empty["comparison"] = "fewer than two critics ran on the same flawed subjects"

    capture = _capture(table, organic, organic_critics, critics, level=level)
    metrics += capture
    if not capture:
        empty["capture_recapture"] = (
            "needs two or more critics on the same flawed subjects, or organic detection "
            "histories"
        )

    injected = [s.text for s in texts if s.injected]
    organic_texts = [s.text for s in texts if not s.injected]
    if len(injected) >= 2 and len(organic_texts) >= 2:
        metrics.append(realism_auc(injected, organic_texts, level=level, seed=seed))
    else:
        empty["realism"] = (
            f"needs two or more injected and organic texts; got {len(injected)} injected and "
            f"{len(organic_texts)} organic"
        )

    metrics += survival(organisms, level=level)
    if not organisms:
        empty["survival"] = "no papers of model organisms"

    subjects = {t.subject for t in trials}
    return Analysis(
        report=RedteamReport(
            level=level,
            n_trials=len(trials),
            n_subjects=len(subjects),
            n_controls=len({t.subject for t in trials if t.control}),
            matchers=sorted({t.matcher for t in trials}),
            critics=critics,
            flaw_types=sorted({t.flaw_type for t in trials if t.flaw_type is not None}),
            metrics=metrics,
            flagged_controls=flagged_controls(trials),
            reliability={
                c: [
                    ReliabilityPoint(
                        mean_predicted=b.mean_predicted, observed_frequency=b.observed_frequency,
                        count=b.count, ci_low=b.ci_low, ci_high=b.ci_high,
                    )
                    for b in r.bins
                ]
                for c, r in calib.items()
            },
            empty=empty,
        ),
        calibration=calib,
    )


def _capture(
    table: FlawedTable,
    organic: Sequence[OrganicFlaw],
    organic_critics: Collection[str],
    critics: list[str],
    *,
    level: float,
) -> list[Metric]:
    out: list[Metric] = []
    if len(table.critics) >= 2:
        # Injected flaws every critic looked at: the truth is their number.
        everyone = np.all(table.ran, axis=1)
        histories = [
            {c for c, hit in zip(table.critics, row, strict=True) if hit}
            for row in table.detected[everyone]
        ]
        if histories:
            out += estimator_bias(
                histories, table.critics, true_total=len(histories), level=level
            )
    if organic:
        stated = {c for f in organic for c in f.critics}
        looked = set(organic_critics) or (
            stated | {c for f in organic for c in f.found_by} if stated
            else set(critics) | {c for f in organic for c in f.found_by}
        )
        if len(looked) >= 2:
            out += population_metrics(
                [f.found_by for f in organic], looked, population="organic", level=level
            )
    return out


__all__ = [
    "SECTIONS",
    "Analysis",
    "OrganicFlaw",
    "RedteamReport",
    "ReliabilityPoint",
    "Section",
    "TextSample",
    "build_report",
    "report_json_schema",
]
