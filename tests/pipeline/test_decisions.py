"""What the pipeline decides about proposals and papers: selection, judgments, escalation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoalign.pipeline import run_agenda
from autoalign.store import Store
from autoalign.store._schema import ReviewRequest

from .conftest import ANSWERS, Team
from .test_run import CALLS, agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def reviews(store: Store, artifact_id: int) -> list[str]:
    with store.engine.connect() as conn:
        return list(
            conn.scalars(
                select(ReviewRequest.reason)
                .where(ReviewRequest.artifact_id == artifact_id)
                .order_by(ReviewRequest.id)
            )
        )


def critique(decision: str, *severities: str) -> dict[str, Any]:
    return {
        "flaws": [
            {"category": "overclaiming", "severity": s, "description": "Generalises."}
            for s in severities
        ],
        "decision": decision,
        "summary": "Reviewed.",
    }


async def test_proposals_not_chosen_are_marked_not_selected(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["RubricScore"] = lambda p: {
        "score": 8 if "Noise" in p.split("<other_proposals>")[0] else 4, "rationale": "r"
    }
    summary = await run_agenda(agenda(model), store=store)
    # The judged proposals are the revisions; the drafts before them keep their status.
    everything = store.artifacts(run_id=summary.run.id, kind="proposal")
    proposals = [p for p in everything if p.step_key.startswith("propose/revision/")]
    assert sorted(p.status for p in proposals) == ["not_selected", "selected"]
    assert {p.status for p in everything if p not in proposals} == {"ok"}
    loser = next(p for p in proposals if p.status == "not_selected")
    assert [e.status for e in store.status_history(loser.id)] == ["ok", "not_selected"]


async def test_every_judge_score_and_critic_decision_is_a_judgment_row_once(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    stopped = await run_agenda(agenda(model, budget={"max_tokens": 2500}), store=store)
    assert stopped.run.status == "stopped"
    done = await run_agenda(agenda(model), store=store)
    assert done.run.status == "completed" and len(script.calls) == CALLS
    run_id = done.run.id
    for kind in ("idea_judgment", "proposal_judgment", "paper_critique"):
        for judge in store.artifacts(run_id=run_id, kind=kind):
            rows = store.judgments(judge_artifact_id=judge.id)
            assert len(rows) == 1, (kind, rows)  # written once, also across the resume
            (target,) = [e.parent_id for e in store.parents(judge.id) if e.relation in
                         ("derived_from",)]
            assert rows[0].artifact_id == target
    scores = [j for j in store.judgments() if j.role == "judge"]
    # 4 idea scores, then 2 judges (validity, redundancy) per proposal
    assert len(scores) == 4 + 2 * 2 and all(j.score == 5.0 for j in scores)
    (decision,) = [j for j in store.judgments() if j.role == "critic-2"]
    assert decision.decision == "minor_revision" and decision.artifact_id == done.paper_id


async def test_an_accepted_paper_opens_no_review(store: Store, team: tuple[Team, str]) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None and summary.paper_status == "accepted"
    assert reviews(store, summary.paper_id) == []


@pytest.mark.parametrize(
    ("answer", "status", "reason"),
    [
        (critique("accept", "critical", "minor"), "accepted",
         "critic-2 reports 1 critical flaw(s)"),
        (critique("reject", "major"), "rejected", "critic-2 decided reject"),
        (critique("major_revision"), "revision_requested", "critic-2 decided major_revision"),
        ("not a critique", "draft", "critic-2 gave no valid critique; a human must review"),
    ],
)
async def test_hard_calls_are_escalated_to_a_human(
    store: Store, team: tuple[Team, str], answer: Any, status: str, reason: str
) -> None:
    script, model = team
    script.overrides["PaperCritique"] = lambda _p: answer
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed"
    assert summary.paper_id is not None
    assert store.artifact(summary.paper_id).status == status
    assert reviews(store, summary.paper_id) == [reason]
    assert store.count_review_requests() == 1


async def test_an_escalation_survives_a_resume_once(store: Store, team: tuple[Team, str]) -> None:
    """A run stopped on a failed critique (on_failure = stop) escalates when resumed, once."""
    script, model = team
    script.overrides["PaperCritique"] = lambda _p: "not a critique"
    stopped = await run_agenda(agenda(model, run={"on_failure": "stop"}), store=store)
    assert stopped.run.status == "stopped" and stopped.paper_id is not None
    script.overrides["PaperCritique"] = lambda _p: ANSWERS["PaperCritique"]
    done = await run_agenda(agenda(model, run={"on_failure": "stop"}), store=store)
    assert done.run.id == stopped.run.id and done.run.status == "completed"
    assert done.paper_id is not None
    assert reviews(store, done.paper_id) == [
        "critic-2 gave no valid critique; a human must review"
    ]


async def test_findings_lost_to_a_crash_after_their_step_are_written_on_resume(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step's artifact is stored, then the process dies before its flaws: the resumed run
    writes them (from the stored, typed output) without asking the critic again."""
    script, model = team

    add_flaws = store.add_flaws

    def crash(**kwargs: Any) -> Any:
        if kwargs.get("found_by_id") is not None:  # a step's own findings (critic #2's here)
            raise KeyboardInterrupt
        return add_flaws(**kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store, "add_flaws", crash)
        with pytest.raises(KeyboardInterrupt):
            await run_agenda(agenda(model), store=store)
    (run,) = store.list_runs()
    (critique,) = store.artifacts(run_id=run.id, kind="paper_critique")
    assert store.flaws(found_by_id=critique.id) == []
    done = await run_agenda(agenda(model), store=store)
    assert done.run.status == "completed" and len(script.calls) == CALLS
    assert script.count("PaperCritique") == 1
    assert [f.category for f in store.flaws(found_by_id=critique.id)] == ["overclaiming"]
