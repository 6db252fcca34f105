"""Expensive checks where they matter: retroactive deeper reviews of load-bearing papers
(`docs/learning.md`, "Expensive checks where they matter").

An accepted paper is load-bearing when at least `[learning] load_bearing_descendants`
artifacts were built from it (its own reviews left out: `REVIEW_KINDS`), or, with
`case_evidence`, when it feeds a metric a registered safety case reads (`artifact_metrics`).
`schedule_load_bearing` asks for a retroactive deeper review of each load-bearing paper not
scheduled before, as a `rereview_request` carrying `[learning] deep_scrutiny` (which
`autoalign rereview` adds to the scrutiny of the paper's last review), at most `deep_reviews`
per pass, most descendants first. Every decision is a `learning_checks` row: scheduled (with
the request) or skipped for budget. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..agenda import LearningSection
from ..calibration import Interval, wilson_interval
from ..case import Sources as CaseSources
from ..case import artifact_metrics, evaluate, load_case, snapshot_evaluation
from ..pipeline import RereviewRequest
from ..store import LearningCheckRecord, Store
from ..vocabulary import (
    CheckKind,
    CheckOutcome,
    CheckTrigger,
    Kind,
    ReviewDecision,
    ReviewStatus,
    Stage,
    Status,
)

REVIEW_KINDS: frozenset[Kind] = frozenset({
    Kind.FLAW_CANDIDATES, Kind.FLAW_INVESTIGATION, Kind.PAPER_CRITIQUE,
    Kind.DIRECTION_DECISION, Kind.REREVIEW, Kind.REREVIEW_REQUEST, Kind.REGENERATION_REQUEST,
})
"""Artifacts that check a paper rather than build on it: not counted as its descendants (a
paper's own review, and its deeper review, would otherwise make it load-bearing)."""


@dataclass(frozen=True, kw_only=True)
class LoadBearing:
    """An accepted paper that is load-bearing, and why."""

    paper_id: int
    descendants: int
    """Artifacts built from it, its own reviews left out."""
    trigger: CheckTrigger
    """`descendants` when it has enough, else `case_evidence`."""
    case_name: str | None = None
    """For `case_evidence`: the registered case that reads the metric."""
    metric: str | None = None
    """For `case_evidence`: the metric path the paper feeds."""

    def why(self, settings: LearningSection) -> str:
        """The trigger in words."""
        if self.trigger == CheckTrigger.DESCENDANTS:
            return (f"paper {self.paper_id} has {self.descendants} descendants "
                    f"(load_bearing_descendants {settings.load_bearing_descendants})")
        return (f"paper {self.paper_id} feeds {self.metric}, which safety case "
                f"{self.case_name} reads")


def case_metrics(store: Store) -> dict[str, list[str]]:
    """The metric paths each registered case reads: from its latest snapshot, else from its
    file (a case whose file cannot be read or checked reads nothing here)."""
    out: dict[str, list[str]] = {}
    for reg in store.registered_cases():
        snapshots = store.case_snapshots(case_name=reg.name)
        if snapshots:
            evaluation = snapshot_evaluation(snapshots[-1])
        else:
            try:
                loaded = load_case(Path(reg.path))
            except OSError:
                continue
            if not loaded.ok or loaded.case is None:
                continue
            evaluation = evaluate(loaded.case, CaseSources(), name=reg.name)
        out[reg.name] = sorted({m for n in evaluation.nodes.values() for m in n.metrics})
    return out


def load_bearing(store: Store, settings: LearningSection) -> list[LoadBearing]:
    """The accepted papers that are load-bearing and have no deeper review scheduled yet,
    most descendants first (then by id)."""
    scheduled = {
        c.paper_id for c in store.learning_checks(
            kind=CheckKind.DEEP_REVIEW, outcome=CheckOutcome.SCHEDULED)
    }
    papers = sorted(
        a.id for a in store.artifacts(kind=Kind.PAPER)
        if a.status == Status.ACCEPTED and a.id not in scheduled
    )
    if not papers:
        return []
    counts = store.count_descendants_except(papers, kinds=REVIEW_KINDS)
    metrics = case_metrics(store) if settings.case_evidence else {}
    found: list[LoadBearing] = []
    for paper in papers:
        n = counts.get(paper, 0)
        if n >= settings.load_bearing_descendants:
            found.append(LoadBearing(paper_id=paper, descendants=n,
                                     trigger=CheckTrigger.DESCENDANTS))
            continue
        hit = next(
            ((name, fed[0]) for name, reads in metrics.items()
             if (fed := artifact_metrics(store, paper, reads))),
            None,
        )
        if hit is not None:
            found.append(LoadBearing(paper_id=paper, descendants=n,
                                     trigger=CheckTrigger.CASE_EVIDENCE, case_name=hit[0],
                                     metric=hit[1]))
    return sorted(found, key=lambda lb: (-lb.descendants, lb.paper_id))


def _same_skip(earlier: LearningCheckRecord | None, lb: LoadBearing) -> bool:
    """Whether the paper's latest decision already records this very skip."""
    return earlier is not None and earlier.outcome == CheckOutcome.SKIPPED_BUDGET and (
        earlier.trigger, earlier.descendants, earlier.case_name, earlier.metric
    ) == (lb.trigger, lb.descendants, lb.case_name, lb.metric)


def schedule_load_bearing(
    store: Store, settings: LearningSection, *, run_id: int | None = None
) -> list[LearningCheckRecord]:
    """Schedule a retroactive deeper review of each load-bearing paper not scheduled before,
    within the `deep_reviews` budget (most descendants first), and record every decision.

    A scheduled review is a `rereview_request` (of the paper's own run, no provenance edge:
    a later rollback must not taint it) that `autoalign rereview` acts on with the paper's
    last scrutiny plus `deep_scrutiny`. A paper over the budget gets a `skipped_budget` row,
    unless its latest row already records the same skip (a pass that changes nothing writes
    nothing). `deep_reviews = 0` does nothing.

    Args:
        store: the research database.
        settings: the agenda's `[learning]` section.
        run_id: the run whose end this pass follows (recorded on each row), if any.

    Returns:
        This pass's decisions, scheduled first.
    """
    if settings.deep_reviews == 0:
        return []
    deep = settings.deep_scrutiny
    scheduled: list[LearningCheckRecord] = []
    skipped: list[LearningCheckRecord] = []
    for lb in load_bearing(store, settings):
        why = lb.why(settings)
        if len(scheduled) < settings.deep_reviews:
            reason = (f"retroactive deeper review: {why}; +{deep.extra_critics} critic-2 "
                      f"instance(s), escalation band lowered by {deep.escalation_drop:.2f} more")
            request = RereviewRequest(
                paper_ids=[lb.paper_id], reason=reason, extra_critics=deep.extra_critics,
                escalation_drop=deep.escalation_drop,
            )
            artifact = store.add_artifact(
                run_id=store.artifact(lb.paper_id).run_id, kind=Kind.REREVIEW_REQUEST,
                stage=Stage.REREVIEW, step_key=f"learning/deep-review/{lb.paper_id}",
                title=f"deeper re-review of load-bearing paper {lb.paper_id}",
                content_text=f"Re-review paper {lb.paper_id} more deeply: {reason}",
                content_json=request.model_dump(mode="json"),
            )
            record, new = store.schedule_deep_review(
                paper_id=lb.paper_id, trigger=lb.trigger, request_artifact_id=artifact.id,
                reason=why, descendants=lb.descendants, case_name=lb.case_name,
                metric=lb.metric, run_id=run_id,
            )
            if new:  # else a concurrent pass scheduled it: not this pass's decision
                scheduled.append(record)
            continue
        history = store.learning_checks(kind=CheckKind.DEEP_REVIEW, paper_id=lb.paper_id)
        latest = history[-1] if history else None
        if latest is not None and _same_skip(latest, lb):
            skipped.append(latest)
            continue
        skipped.append(store.add_learning_check(
            kind=CheckKind.DEEP_REVIEW, paper_id=lb.paper_id, trigger=lb.trigger,
            outcome=CheckOutcome.SKIPPED_BUDGET,
            reason=f"{why}; not scheduled: this pass's deep_reviews budget "
            f"({settings.deep_reviews}) is spent",
            descendants=lb.descendants, case_name=lb.case_name, metric=lb.metric, run_id=run_id,
        ))
    return [*scheduled, *skipped]


@dataclass(frozen=True, kw_only=True)
class Share:
    """k of n, with a Wilson interval (None when n is 0)."""

    k: int
    n: int
    interval: Interval | None

    @classmethod
    def of(cls, k: int, n: int) -> Share:
        """The share `k / n` with its Wilson 95% interval."""
        return cls(k=k, n=n, interval=wilson_interval(k, n) if n else None)


@dataclass(frozen=True, kw_only=True)
class CheckYield:
    """Whether the expensive checks found anything: the records to tell whether they helped."""

    deep_scheduled: int
    """Deeper reviews scheduled."""
    deep_changed: Share
    """Of the deeper reviews `autoalign rereview` performed, those whose re-review changed
    critic #2's decision or found new flaws."""
    escalated: int
    """Confused-critic escalations sent to the human queue."""
    escalation_confirmed: Share
    """Of those a human resolved, the ones confirmed (a real flaw), not dismissed."""


def check_yield(store: Store) -> CheckYield:
    """What the recorded expensive checks led to (`docs/learning.md`): the performed deeper
    reviews that changed something, and the confused-critic requests humans confirmed."""
    deep = store.learning_checks(kind=CheckKind.DEEP_REVIEW, outcome=CheckOutcome.SCHEDULED)
    requests = {c.request_artifact_id for c in deep if c.request_artifact_id is not None}
    children = {e.child_id for e in store.edges_touching(sorted(requests), direction="down")
                if e.parent_id in requests}
    performed = [a for a in store.artifacts(ids=sorted(children)) if a.kind == Kind.REREVIEW
                 and isinstance(a.content_json, dict)] if children else []
    changed = sum(bool(a.content_json.get("changed")) for a in performed)
    sent = store.learning_checks(kind=CheckKind.HUMAN_ESCALATION,
                                 outcome=CheckOutcome.ESCALATED)
    asked = {c.review_request_id for c in sent if c.review_request_id is not None}
    resolved = [r for r in store.review_requests(status=ReviewStatus.RESOLVED) if r.id in asked]
    confirmed = sum(r.resolution == ReviewDecision.CONFIRM for r in resolved)
    return CheckYield(
        deep_scheduled=len(deep), deep_changed=Share.of(changed, len(performed)),
        escalated=len(sent), escalation_confirmed=Share.of(confirmed, len(resolved)),
    )


__all__ = ["REVIEW_KINDS", "CheckYield", "LoadBearing", "Share", "case_metrics",
           "check_yield", "load_bearing", "schedule_load_bearing"]
