"""What stage 1 decided about projects in one run, read back from the store for `autoalign show
run ID`: the judged proposals (revisions, validity and redundancy scores, estimate, status and
reason), the selection against the budget and the cap, bundles, information screens and the
reads they refused."""

from __future__ import annotations

from dataclasses import dataclass

from ..store import ScreenRecord, ScreenRefusalRecord, Store
from ..vocabulary import Kind, Relation, Status
from ._schemas import BundleContent, Selection


@dataclass(frozen=True, kw_only=True)
class ProposalLine:
    """One judged proposal."""

    id: int
    title: str
    revisions: int
    """Rounds of critique and revision behind it."""
    validity: float | None
    redundancy: float | None
    """The redundancy judge's score (10 = entirely new)."""
    estimate_tokens: int | None
    status: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SelectionView:
    """A run's stage 1 decisions about projects."""

    proposals: list[ProposalLine]
    chosen: list[int]
    budget_tokens: int | None
    """Tokens left when the selection was made (None: no token budget, or an older run)."""
    max_projects: int | None
    committed_tokens: int
    """The selected projects' estimates, summed."""
    bundles: list[BundleContent]
    screens: list[ScreenRecord]
    refusals: list[ScreenRefusalRecord]
    appeals: dict[int, int]
    """Review requests on each screen's artifact (appeals to lift it), by screen id."""


def _revisions(store: Store, proposal: int) -> int:
    count, current = 0, proposal
    while True:
        prior = [e.parent_id for e in store.parents(current) if e.relation == Relation.REVISES]
        if not prior:
            return count
        count, current = count + 1, prior[0]


def selection_view(store: Store, run_id: int) -> SelectionView | None:
    """Stage 1's project decisions in run `run_id`; None when it has made no selection."""
    selections = store.artifacts(run_id=run_id, kind=Kind.SELECTION)
    if not selections or selections[-1].status == Status.FAILED:
        return None
    selection = Selection.model_validate(selections[-1].content_json)
    judged = [int(i) for i in selection.reasons] or [int(i) for i in selection.scores]
    lines = []
    for art in store.artifacts(ids=judged):
        scores: dict[str, float | None] = {"validity": None, "redundancy": None}
        for j in store.judgments(artifact_id=art.id):
            judge = store.artifact(j.judge_artifact_id) if j.judge_artifact_id else None
            which = (judge.step_key or "").split("/")[1] if judge and judge.step_key else ""
            if which in scores:
                scores[which] = j.score
        estimate = selection.estimates.get(str(art.id))
        history = store.status_history(art.id)
        lines.append(ProposalLine(
            id=art.id, title=art.title or "", revisions=_revisions(store, art.id),
            validity=scores["validity"], redundancy=scores["redundancy"],
            estimate_tokens=estimate, status=art.status,
            reason=selection.reasons.get(str(art.id)) or (history[-1].reason or ""),
        ))
    screens = store.screens(run_id=run_id)
    requests = store.review_requests()
    return SelectionView(
        proposals=lines,
        chosen=selection.chosen,
        budget_tokens=selection.budget_tokens,
        max_projects=selection.max_projects,
        committed_tokens=sum(selection.estimates.get(str(i), 0) for i in selection.chosen),
        bundles=[BundleContent.model_validate(a.content_json)
                 for a in store.artifacts(run_id=run_id, kind=Kind.BUNDLE)],
        screens=screens,
        refusals=store.screen_refusals(run_id=run_id),
        appeals={s.id: sum(1 for r in requests if r.artifact_id == s.artifact_id)
                 for s in screens},
    )


__all__ = ["ProposalLine", "SelectionView", "selection_view"]
