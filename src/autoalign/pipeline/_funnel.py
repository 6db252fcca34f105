"""Stage 1's funnel as data, for `autoalign show run ID`: counts per step of the funnel, the
allocation with its intervals, how far the judges agreed, and what the screen dropped and why.

Counts come from listings (no content read); only the run's latest `allocation` and
`idea_screen` records are read whole. A later part of stage 1 adds its rows to `rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..calibration import Interval, wilson_interval
from ..store import Store
from ..vocabulary import JudgmentSource, Kind, Status
from ._ideas import IdeaScreen
from ._topics import AllocationRecord


@dataclass(frozen=True, kw_only=True)
class FunnelRow:
    """One step of the funnel: how many items reached it."""

    step: str
    count: int
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Agreement:
    """How far the judges agreed."""

    ideas: int
    """Ideas scored by two judges or more."""
    agreed: int
    """Of them, ideas whose first judges' scores spread no more than the threshold."""
    agreed_interval: Interval | None
    """Wilson interval of `agreed / ideas` (None when no idea had two scores)."""
    threshold: float
    mean_spread: float | None
    escalated: int
    """Ideas for which more judges were asked."""
    to_human: int
    """Ideas the judges still disagreed on: a human review request was opened."""
    pairs: int
    """Pairs of cases compared in both orders."""
    consistent: int
    """Of them, pairs whose verdicts named the same case in both orders (not a tie)."""
    consistent_interval: Interval | None


@dataclass(frozen=True, kw_only=True)
class ScreenedOut:
    """An idea the screen (or the merge) dropped, and why."""

    idea_id: int
    title: str
    status: str
    reason: str


@dataclass(kw_only=True)
class Funnel:
    """A run's stage 1 funnel."""

    run_id: int
    rows: list[FunnelRow] = field(default_factory=list)
    allocation: AllocationRecord | None = None
    agreement: Agreement | None = None
    dropped: list[ScreenedOut] = field(default_factory=list)


def _pairwise_consistency(store: Store, run_id: int) -> tuple[int, int]:
    """(pairs compared in both orders, pairs whose two verdicts agree on one case)."""
    steps = store.artifact_summaries(run_id=run_id, kind=Kind.CASE_COMPARISON)
    verdicts: dict[frozenset[int], list[int | None]] = {}
    for step in steps:
        for j in store.judgments(judge_artifact_id=step.id):
            if j.other_artifact_id is None or j.source != JudgmentSource.MODEL:
                continue
            winner = {"first": j.artifact_id, "second": j.other_artifact_id}.get(
                j.decision or ""
            )
            verdicts.setdefault(frozenset((j.artifact_id, j.other_artifact_id)), []).append(
                winner
            )
    both = [v for v in verdicts.values() if len(v) >= 2]
    consistent = sum(1 for v in both if v[0] is not None and all(w == v[0] for w in v))
    return len(both), consistent


def stage1_funnel(store: Store, run_id: int) -> Funnel:
    """The funnel of run `run_id` (empty rows for steps the run never reached)."""
    funnel = Funnel(run_id=run_id)
    ideas = store.artifact_summaries(run_id=run_id, kind=Kind.IDEA)
    merged = [i for i in ideas if i.status == Status.MERGED]
    out = [i for i in ideas if i.status == Status.SCREENED_OUT]
    kept = [i for i in ideas if i.status == Status.SCREENED_IN]
    # Drafts only: a revision of a proposal is the same proposal (its latest version counts
    # as selected or not).
    versions = store.artifact_summaries(run_id=run_id, kind=Kind.PROPOSAL)
    proposals = [p for p in versions if (p.step_key or "").startswith("propose/proposal/")]
    funnel.rows = [
        FunnelRow(step="positive cases",
                  count=store.count_artifacts(run_id=run_id, kind=Kind.POSITIVE_CASE)),
        FunnelRow(step="ideas babbled", count=len(ideas),
                  note=f"{store.count_artifacts(run_id=run_id, kind=Kind.IDEA_BATCH)} samples"),
        FunnelRow(step="after merge", count=len(ideas) - len(merged),
                  note=f"{len(merged)} near-duplicates merged"),
        FunnelRow(step="after screen", count=len(kept), note=f"{len(out)} screened out"),
        FunnelRow(step="proposals", count=len(proposals)),
        FunnelRow(step="selected", count=sum(1 for p in versions if p.status == Status.SELECTED)),
    ]
    allocations = store.artifacts(run_id=run_id, kind=Kind.ALLOCATION)
    if allocations:
        funnel.allocation = AllocationRecord.model_validate(allocations[-1].content_json)
    screens = store.artifacts(run_id=run_id, kind=Kind.IDEA_SCREEN)
    pairs, consistent = _pairwise_consistency(store, run_id)
    if screens:
        screen = IdeaScreen.model_validate(screens[-1].content_json)
        multi = [i for i in screen.items if len(i.scores) >= 2]
        agreed = sum(1 for i in multi if i.spread <= screen.threshold)
        funnel.agreement = Agreement(
            ideas=len(multi),
            agreed=agreed,
            agreed_interval=wilson_interval(agreed, len(multi)) if multi else None,
            threshold=screen.threshold,
            mean_spread=sum(i.spread for i in multi) / len(multi) if multi else None,
            escalated=sum(1 for i in screen.items if i.escalated),
            to_human=sum(1 for i in screen.items if i.human_review),
            pairs=pairs,
            consistent=consistent,
            consistent_interval=wilson_interval(consistent, pairs) if pairs else None,
        )
        reasons = {i.idea_id: i.reason for i in screen.items}
        funnel.dropped = [
            ScreenedOut(idea_id=i.id, title=i.title or "", status=i.status,
                        reason=reasons.get(i.id, ""))
            for i in out
        ]
    for i in merged:
        history = store.status_history(i.id)
        funnel.dropped.append(ScreenedOut(
            idea_id=i.id, title=i.title or "", status=i.status,
            reason=history[-1].reason or "" if history else "",
        ))
    return funnel


__all__ = ["Agreement", "Funnel", "FunnelRow", "ScreenedOut", "stage1_funnel"]
