"""Confused critics to humans (issue 14, part CK; `docs/learning.md`, "Expensive checks where
they matter").

Critic #2 escalates by its own rules (its severe-flaw probability in the escalation band, or
its instances spread by `[critic2] disagreement`). Beyond those, the agenda's `[learning]`
section names when the critic is confused although it decided: its stated severe-flaw
probability (the mean of its instances' own estimates, `p_stated`) inside `confused_band`, or
its instances' estimates spread by at least `instance_spread`. Such a paper is routed to the
human queue through the report's own escalation path (its `Findings.reviews`), within the
run's `human_escalations` budget; every decision, a skip for budget included, is a
`learning_checks` row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..agenda import LearningSection
from ..runtime import StageContext, StepResult
from ..vocabulary import CheckOutcome, CheckTrigger, PaperDecision
from ._decisions import Critic2Report

_EPS = 1e-12
"""Tolerance of the spread's comparison with its threshold (as `decide` has)."""


@dataclass(frozen=True, kw_only=True)
class Confusion:
    """Why critic #2 counts as confused on one report."""

    trigger: CheckTrigger
    """`confused_band` when the stated probability is in the band, else `instance_spread`."""
    reason: str
    """The review request's reason: the band and the probability, and/or the spread."""


def confusion(report: Critic2Report, settings: LearningSection) -> Confusion | None:
    """Whether critic #2 was confused on `report` by the `[learning]` settings (None: not
    confused). Its own decision is not looked at here."""
    valid = [i.severe_flaw for i in report.instances if i.severe_flaw is not None]
    if not valid:
        return None
    low, high = settings.confused_band
    in_band = low <= report.p_stated <= high
    spread = len(valid) > 1 and report.spread >= settings.instance_spread - _EPS
    parts = []
    if in_band:
        parts.append(
            f"its stated severe-flaw probability {report.p_stated:.2f} (mean of {len(valid)} "
            f"instance estimate(s)) is in the confused band [{low:.2f}, {high:.2f}]"
        )
    if spread:
        parts.append(
            f"its {len(valid)} instances disagree: their estimates spread by "
            f"{report.spread:.2f} (instance_spread {settings.instance_spread:.2f})"
        )
    if not parts:
        return None
    return Confusion(
        trigger=CheckTrigger.CONFUSED_BAND if in_band else CheckTrigger.INSTANCE_SPREAD,
        reason=f"critic-2 is confused on round {report.round}: " + "; ".join(parts),
    )


def confused_reviews(ctx: StageContext, report: StepResult[Critic2Report]) -> list[str]:
    """The review reasons a confused critic adds to its report's records: one when the run's
    `human_escalations` budget allows it and no request is open on the paper, else none (the
    decision is recorded either way). Nothing when the budget is 0 or critic #2 escalates by
    its own rules (one request is enough)."""
    settings = ctx.agenda.learning
    out = report.output
    if (settings.human_escalations == 0 or out is None or report.artifact is None
            or out.decision == PaperDecision.ESCALATE):
        return []
    found = confusion(out, settings)
    if found is None:
        return []
    decided = ctx.store.escalate_confused(
        run_id=ctx.run.id, paper_id=out.paper_id, report_id=report.id, trigger=found.trigger,
        reason=found.reason, budget=settings.human_escalations,
    )
    return [found.reason] if decided.outcome == CheckOutcome.ESCALATED else []


__all__ = ["Confusion", "confused_reviews", "confusion"]
