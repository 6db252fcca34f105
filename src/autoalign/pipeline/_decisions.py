"""Critic #2's report and its decision rules: the severe-flaw probability, the escalation band,
disagreement, and the six decisions (pure functions of the report; `docs/pipeline.md`)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..agenda import Critic2Section
from ..calibration import apply_map
from ..critics import SEVERITY_WEIGHT, FlawCategory, Location
from ..vocabulary import PaperDecision, Severity
from ._divergence import Scrutiny

PROBABILITY_WEIGHT: dict[Severity, float] = {
    Severity.MINOR: 0.0, Severity.MAJOR: 0.5, Severity.CRITICAL: 1.0,
}
"""How much a confirmed flaw of each severity, at confidence 1, makes the paper severely flawed."""

DIRECTION_FLAWS: frozenset[FlawCategory] = frozenset({
    FlawCategory.METHOD_FLAW, FlawCategory.QUESTION_DRIFT, FlawCategory.SPIRIT_VIOLATION,
})
"""Categories that put the project's direction in doubt, not only the paper's writing."""

FlawStatus = Literal["confirmed", "refuted", "not_investigated", "programmatic"]


class ReportedFlaw(BaseModel):
    """One flaw in critic #2's report: a merged candidate with what became of it, or a
    programmatic critic's finding."""

    category: FlawCategory
    """Its category in the shared taxonomy (`docs/flaws.md`)."""
    severity: Severity
    """As investigated (as babbled when not investigated)."""
    confidence: float = Field(ge=0.0, le=1.0)
    """The investigator's confidence in its verdict (the instance's in the flaw when not
    investigated; 1 for a programmatic rule)."""
    status: FlawStatus
    """`confirmed` and `programmatic` flaws count toward the probability and the decision."""
    critic: str
    """`id@version` of the critic whose verdict this is."""
    location: Location
    """The artifact (section) and the quoted span it points at."""
    description: str
    """What is wrong."""
    evidence: str = ""
    """What the investigator (or rule) saw; for a refuted candidate, why it was refuted."""
    raised_by: int = Field(default=1, ge=1)
    """Instances that raised it (near-duplicates merged)."""

    @property
    def counts(self) -> bool:
        """Whether it counts as a real flaw (confirmed by investigation or by a rule)."""
        return self.status in ("confirmed", "programmatic")


class InstanceEstimate(BaseModel):
    """One instance's context and overall estimate."""

    instance: int
    focus: str
    sections: list[str]
    with_log: bool
    model: str
    severe_flaw: float | None = Field(default=None, ge=0.0, le=1.0)
    """Its probability that the paper is severely flawed; None: no valid reply."""
    recommendation: str | None = None
    """accept, revise, reassess or halt (None: no valid reply)."""


class Critic2Report(BaseModel):
    """Critic #2's report on one version of a paper, and what was decided."""

    paper_id: int
    round: int = Field(ge=0)
    """0 for the first version of the paper, n after the n-th revision."""
    flaws: list[ReportedFlaw]
    instances: list[InstanceEstimate]
    severe_flaw_probability: float = Field(ge=0.0, le=1.0)
    """`P = 1 - (1 - p_confirmed) * (1 - (1 - coverage) * p_stated)` (see `severe_probability`):
    critic #2's raw stated probability, before any recalibration (labels and the red team read
    this one; a recalibration map is fitted on it)."""
    p_confirmed: float = Field(ge=0.0, le=1.0)
    p_stated: float = Field(ge=0.0, le=1.0)
    coverage: float = Field(ge=0.0, le=1.0)
    spread: float = Field(ge=0.0, le=1.0)
    """max - min of the valid instances' estimates."""
    band: tuple[float, float]
    """The escalation band used (its lower edge lowered by scrutiny)."""
    extra_critics: int = Field(ge=0)
    """Instances added because the write-up's two versions diverged (`Scrutiny`)."""
    escalation_drop: float = Field(ge=0.0, le=1.0)
    """How far the band's lower edge was lowered for the same reason."""
    decision: PaperDecision
    rule: str
    """The rule that decided, in words."""
    calibrated_probability: float | None = Field(default=None, ge=0.0, le=1.0)
    """`severe_flaw_probability` through the applied recalibration named by
    `probability_version` (`docs/learning.md`); None when none was applied. The decision reads
    it when present."""
    probability_version: str = ""
    """The critic version whose probability decided: `c2.investigate@1` (raw) or, with a
    recalibration applied, `c2.investigate@1+recalibration.2`. Empty in reports written before
    versions were named."""

    @property
    def decided_probability(self) -> float:
        """The probability the decision read: the calibrated one when a recalibration was
        applied, else the raw stated one."""
        if self.calibrated_probability is not None:
            return self.calibrated_probability
        return self.severe_flaw_probability


@dataclass(frozen=True, kw_only=True)
class Recalibration:
    """An applied recalibration of critic #2's stated severe-flaw probability: a map as
    `autoalign.calibration.fit_map` stores it, and the critic version that made it."""

    version: str
    """`c2.investigate@1+recalibration.2`: what the report names."""
    params: Mapping[str, Any]
    """The map's params (`autoalign.calibration.apply_map`)."""

    def apply(self, p: float) -> float:
        """The calibrated probability of the raw stated probability `p`."""
        return apply_map(self.params, p)


@dataclass(frozen=True, kw_only=True)
class Probability:
    """The severe-flaw probability and its parts."""

    value: float
    confirmed: float
    stated: float
    coverage: float


def severe_probability(
    flaws: list[ReportedFlaw], instances: list[InstanceEstimate]
) -> Probability:
    """The probability that the paper is severely flawed, computed (no model states it).

    `p_confirmed = 1 - prod(1 - w(severity) * confidence)` over confirmed and programmatic
    flaws (`PROBABILITY_WEIGHT`: minor 0, major 0.5, critical 1); `p_stated` is the mean of the
    valid instances' own estimates; `coverage` is the share of the candidates' severity weight
    (`SEVERITY_WEIGHT`, once per instance that raised it) that was investigated. The instances'
    estimate stands for what was not investigated:
    `P = 1 - (1 - p_confirmed) * (1 - (1 - coverage) * p_stated)`.
    """
    p_ok = 1.0
    for f in flaws:
        if f.counts:
            p_ok *= 1.0 - PROBABILITY_WEIGHT[f.severity] * f.confidence
    stated = [i.severe_flaw for i in instances if i.severe_flaw is not None]
    p_stated = statistics.fmean(stated) if stated else 0.0
    babbled = [f for f in flaws if f.status != "programmatic"]
    total = sum(SEVERITY_WEIGHT[f.severity] * f.raised_by for f in babbled)
    checked = sum(
        SEVERITY_WEIGHT[f.severity] * f.raised_by for f in babbled if f.status != "not_investigated"
    )
    coverage = checked / total if total > 0 else 0.0
    p_confirmed = 1.0 - p_ok
    value = 1.0 - (1.0 - p_confirmed) * (1.0 - (1.0 - coverage) * p_stated)
    return Probability(
        value=min(1.0, max(0.0, value)), confirmed=p_confirmed, stated=p_stated, coverage=coverage
    )


def band(settings: Critic2Section, scrutiny: Scrutiny) -> tuple[float, float]:
    """The escalation band: its lower edge lowered by the scrutiny's `escalation_drop`."""
    return (
        max(0.0, settings.escalate_low - scrutiny.escalation_drop), settings.escalate_high
    )


@dataclass(frozen=True, kw_only=True)
class Decided:
    """A decision and the rule that made it."""

    decision: PaperDecision
    rule: str


def decide(
    *,
    flaws: list[ReportedFlaw],
    instances: list[InstanceEstimate],
    probability: float,
    settings: Critic2Section,
    scrutiny: Scrutiny,
    rounds_left: int,
) -> Decided:
    """Critic #2's decision, by the first rule that applies (`docs/pipeline.md`)."""
    valid = [i for i in instances if i.severe_flaw is not None]
    if not valid:
        return Decided(decision=PaperDecision.ESCALATE,
                       rule="no critic-2 instance gave a valid reply")
    estimates = [i.severe_flaw for i in valid if i.severe_flaw is not None]
    spread = max(estimates) - min(estimates)
    if len(valid) > 1 and spread >= settings.disagreement - 1e-12:
        return Decided(
            decision=PaperDecision.ESCALATE,
            rule=f"the instances disagree: their estimates spread by {spread:.2f} "
            f"(threshold {settings.disagreement:.2f})",
        )
    low, high = band(settings, scrutiny)
    if low <= probability <= high:
        return Decided(
            decision=PaperDecision.ESCALATE,
            rule=f"severe-flaw probability {probability:.2f} is in the escalation band "
            f"[{low:.2f}, {high:.2f}]",
        )
    real = [f for f in flaws if f.counts]
    if probability > high:
        votes = [i.recommendation for i in valid]
        if votes.count("halt") * 2 > len(votes):
            return Decided(decision=PaperDecision.HALT,
                           rule=f"probability {probability:.2f} above the band and most "
                           f"instances ({votes.count('halt')} of {len(votes)}) recommend a halt")
        direction = [f for f in real if f.category in DIRECTION_FLAWS]
        against = votes.count("halt") + votes.count("reassess")
        if direction or against * 2 > len(votes):
            why = (f"a confirmed {direction[0].category} flaw" if direction
                   else f"{against} of {len(votes)} instances recommend changing the direction")
            return Decided(decision=PaperDecision.REASSESS,
                           rule=f"probability {probability:.2f} above the band and {why}")
        return _bounded(PaperDecision.MAJOR_REVISION,
                        f"probability {probability:.2f} above the band; the flaws are in the "
                        "writing, not the direction", rounds_left)
    if any(f.severity != Severity.MINOR for f in real):
        return _bounded(PaperDecision.MAJOR_REVISION,
                        f"probability {probability:.2f} below the band, with a confirmed major "
                        "or critical flaw", rounds_left)
    if real:
        return _bounded(PaperDecision.MINOR_REVISION,
                        f"probability {probability:.2f} below the band, with only minor "
                        "confirmed flaws", rounds_left)
    return Decided(decision=PaperDecision.ACCEPT,
                   rule=f"probability {probability:.2f} below the band and no confirmed flaw")


def _bounded(decision: PaperDecision, rule: str, rounds_left: int) -> Decided:
    """A revision decision, or what replaces it when no revision round is left: a minor
    revision is accepted as it is (its flaws stay recorded), a major one is escalated."""
    if rounds_left > 0:
        return Decided(decision=decision, rule=rule)
    if decision == PaperDecision.MINOR_REVISION:
        return Decided(decision=PaperDecision.ACCEPT,
                       rule=f"{rule}; no revision round left: accepted as it is")
    return Decided(decision=PaperDecision.ESCALATE,
                   rule=f"{rule}; no revision round left: a human decides")
