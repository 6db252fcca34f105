"""What the pipeline decides about proposals and papers: selection, judgments, critic #2's six
decisions, the revision loop and escalation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoalign.agenda import Critic2Section
from autoalign.pipeline import run_agenda
from autoalign.pipeline._decisions import InstanceEstimate, ReportedFlaw, band, decide
from autoalign.pipeline._divergence import NO_SCRUTINY, Scrutiny
from autoalign.store import Store
from autoalign.store._schema import ReviewRequest
from autoalign.vocabulary import PaperDecision

from .conftest import ANSWERS, CANDIDATE, SECTION, Team
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


def candidates(*flaws: dict[str, Any], severe: int = 10, recommend: str = "accept") -> Any:
    return lambda _p: {
        "flaws": list(flaws), "severe_flaw_percent": severe, "recommendation": recommend,
        "summary": "Reviewed.",
    }


def check(verdict: str = "confirmed", severity: str = "minor", confidence: int = 80) -> Any:
    return lambda _p: {
        "verdict": verdict, "confidence_percent": confidence, "severity": severity,
        "evidence": "Seen in the log.",
    }


REVISED = {
    "title": "A section",
    "paragraphs": [{"text": "Two seeds only hint that penalties reduce hacking.", "sources": []}],
}
"""What the scripted writer writes for a revision (no longer has the flawed span)."""


def revise_away(script: Team) -> None:
    """The writer's revision drops the quoted span, and the instances stop suspecting it."""
    script.overrides["Section"] = lambda p: REVISED if "This is revision" in p else SECTION
    flawed = ANSWERS["FlawCandidates"]
    script.overrides["FlawCandidates"] = lambda p: (
        flawed if "weak evidence" in p else {**flawed, "flaws": [], "severe_flaw_percent": 5}
    )


def papers(store: Store, run_id: int) -> list[int]:
    return [a.id for a in store.artifacts(run_id=run_id, kind="paper")]


def decision_of(store: Store, paper_id: int) -> list[str | None]:
    return [j.decision for j in store.judgments(artifact_id=paper_id) if j.role == "critic-2"]


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
    for kind in ("case_score", "idea_judgment", "proposal_judgment", "paper_critique"):
        for judge in store.artifacts(run_id=run_id, kind=kind):
            rows = store.judgments(judge_artifact_id=judge.id)
            assert len(rows) == 1, (kind, rows)  # written once, also across the resume
            # the judged artifact (critic #2's report also derives from nothing else judged)
            (target,) = [e.parent_id for e in store.parents(judge.id)
                         if e.relation == "derived_from"]
            assert rows[0].artifact_id == target
            assert rows[0].model == model  # every judgment names the judge's model
    # A pairwise judgment records both cases, the one shown first as its artifact.
    for judge in store.artifacts(run_id=run_id, kind="case_comparison"):
        (row,) = store.judgments(judge_artifact_id=judge.id)
        shown = [e.parent_id for e in store.parents(judge.id)]
        assert sorted([row.artifact_id, row.other_artifact_id]) == sorted(shown)
        assert (row.model, row.source) == (model, "model")
    rows = [j for j in store.judgments() if j.role == "judge"]
    scores = [j for j in rows if j.other_artifact_id is None]
    # 4 case scores, 8 idea scores, 2 judges (validity, redundancy) per proposal; 8 comparisons
    assert len(scores) == 4 + 8 + 2 * 2 and all(j.score == 6.0 for j in scores)
    assert [j.decision for j in rows if j.other_artifact_id is not None] == ["first"] * 8
    (decision,) = [j for j in store.judgments() if j.role == "critic-2"]
    # A minor revision with no revision round left is accepted; the score is P(severe).
    assert decision.decision == "accept" and decision.artifact_id == done.paper_id
    assert decision.score == 0.0


async def test_an_accepted_paper_opens_no_review(store: Store, team: tuple[Team, str]) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None and summary.paper_status == "accepted"
    assert reviews(store, summary.paper_id) == []


CRITICAL_METHOD = {**CANDIDATE, "category": "method_flaw", "severity": "critical",
                   "confidence_percent": 90}
CRITICAL_CLAIM = {**CANDIDATE, "severity": "critical", "confidence_percent": 90}


@pytest.mark.parametrize(
    ("babble", "verdict", "decision", "paper_status", "proposal_status"),
    [
        (candidates(CANDIDATE), check("refuted"), "accept", "accepted", "selected"),
        (candidates(CANDIDATE), check(severity="major", confidence=100), "escalate",
         "escalated", "selected"),
        (candidates(CRITICAL_METHOD, severe=90, recommend="reassess"),
         check(severity="critical", confidence=90), "reassess", "rejected", "reassess"),
        (candidates(CRITICAL_CLAIM, severe=95, recommend="halt"),
         check(severity="critical", confidence=90), "halt", "rejected", "halted"),
    ],
    ids=["accept", "escalate", "reassess", "halt"],
)
async def test_each_decision_leaves_its_judgment_and_status_events(
    store: Store, team: tuple[Team, str], babble: Any, verdict: Any, decision: str,
    paper_status: str, proposal_status: str,
) -> None:
    script, model = team
    script.overrides.update(FlawCandidates=babble, FlawCheck=verdict)
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed" and summary.paper_id is not None
    paper = summary.paper_id
    assert decision_of(store, paper) == [decision]
    assert [e.status for e in store.status_history(paper)] == ["draft", paper_status]
    (event,) = store.status_history(paper)[1:]
    assert (event.reason or "").startswith(f"critic-2 decision: {decision} (")
    # The project's proposal: the one the paper was written for.
    proposal = store.artifact(store.artifact(paper).content_json["proposal"])
    assert proposal.status == proposal_status
    directions = store.artifacts(run_id=summary.run.id, kind="direction_decision")
    if decision in ("reassess", "halt"):
        (direction,) = directions
        content = direction.content_json
        assert isinstance(content, dict)
        assert (content["action"], content["proposal_id"], content["paper_id"]) == (
            decision, proposal.id, paper
        )
        assert content["flaws"] and "critical" in content["flaws"][0]
        last = store.status_history(proposal.id)[-1]
        assert last.status == proposal_status and f"paper {paper}" in (last.reason or "")
    else:
        assert directions == []
    expected = ["critic-2 escalates: severe-flaw probability 0.50 is in the escalation band "
                "[0.30, 0.70]"] if decision == "escalate" else []
    assert reviews(store, paper) == expected


async def test_instances_that_disagree_escalate(store: Store, team: tuple[Team, str]) -> None:
    script, model = team
    script.overrides["FlawCandidates"] = lambda p: {
        **ANSWERS["FlawCandidates"], "flaws": [],
        "severe_flaw_percent": 90 if "<main_text>" in p and "<appendix>" not in p else 10,
    }
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None and summary.paper_status == "escalated"
    assert decision_of(store, summary.paper_id) == ["escalate"]
    assert reviews(store, summary.paper_id) == [
        "critic-2 escalates: the instances disagree: their estimates spread by 0.80 "
        "(threshold 0.50)"
    ]


async def test_a_revision_loop_revises_once_then_accepts(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    revise_away(script)
    summary = await run_agenda(agenda(model, critic2={"revision_rounds": 2}), store=store)
    first, second = papers(store, summary.run.id)
    assert summary.paper_id == second and summary.paper_status == "accepted"
    assert [(e.parent_id, e.relation) for e in store.parents(second)
            if e.relation == "revises"] == [(first, "revises")]
    assert [e.status for e in store.status_history(first)] == [
        "draft", "revision_requested", "revised"
    ]
    assert [e.status for e in store.status_history(second)] == ["draft", "accepted"]
    assert decision_of(store, first) == ["minor_revision"]
    assert decision_of(store, second) == ["accept"]
    # The revision was written with the critique, under its own step keys.
    rewritten = [p for name, p in script.calls if name == "Section" and "<critique>" in p]
    assert len(rewritten) == 3  # appendix, main text, introduction (the abstract is its own)
    assert store.artifact_by_step(summary.run.id, "writeup/paper/rev1") is not None
    assert store.artifact_by_step(summary.run.id, "writeup/critic-2/1") is not None


async def test_a_revision_loop_that_hits_its_bound_escalates_a_major_revision(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["FlawCheck"] = check(severity="major", confidence=50)
    summary = await run_agenda(agenda(model, critic2={"revision_rounds": 1}), store=store)
    first, second = papers(store, summary.run.id)
    assert decision_of(store, first) == ["major_revision"]
    assert decision_of(store, second) == ["escalate"]
    assert store.artifact(first).status == "revised"
    assert summary.paper_status == "escalated"
    (reason,) = reviews(store, second)
    assert reason.endswith("no revision round left: a human decides")
    assert store.artifact_by_step(summary.run.id, "writeup/paper/rev2") is None


async def test_an_escalation_survives_a_resume_once(store: Store, team: tuple[Team, str]) -> None:
    """A run stopped on a failed instance (on_failure = stop) escalates when resumed, once."""
    script, model = team
    script.overrides["FlawCandidates"] = lambda _p: "not a critique"
    settings = {"on_failure": "stop"}
    one = {"instances": 1}
    stopped = await run_agenda(agenda(model, run=settings, critic2=one), store=store)
    assert stopped.run.status == "stopped" and stopped.paper_id is not None
    script.overrides.pop("FlawCandidates")
    done = await run_agenda(agenda(model, run=settings, critic2=one), store=store)
    assert done.run.id == stopped.run.id and done.run.status == "completed"
    assert done.paper_id is not None and done.paper_status == "escalated"
    assert reviews(store, done.paper_id) == [
        "critic-2 escalates: no critic-2 instance gave a valid reply"
    ]
    assert store.count_review_requests() == 1
    assert script.count("FlawCandidates") == 2  # one ask and its retry, before the stop only


async def test_findings_lost_to_a_crash_after_their_step_are_written_on_resume(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step's artifact is stored, then the process dies before its flaws: the resumed run
    writes them (from the stored, typed output) without asking the critic again."""
    script, model = team

    add_flaws = store.add_flaws

    def crash(**kwargs: Any) -> Any:
        if kwargs.get("critic") == "c2.investigate":  # critic #2's investigation's findings
            raise KeyboardInterrupt
        return add_flaws(**kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store, "add_flaws", crash)
        with pytest.raises(KeyboardInterrupt):
            await run_agenda(agenda(model), store=store)
    (run,) = store.list_runs()
    (investigation,) = store.artifacts(run_id=run.id, kind="flaw_investigation")
    assert store.flaws(found_by_id=investigation.id) == []
    done = await run_agenda(agenda(model), store=store)
    assert done.run.status == "completed" and len(script.calls) == CALLS
    assert script.count("FlawCheck") == 1
    assert [f.category for f in store.flaws(found_by_id=investigation.id)] == ["overclaiming"]


# -- the rules, as functions ------------------------------------------------------------------


def _instance(p: float | None, recommend: str = "accept") -> InstanceEstimate:
    return InstanceEstimate(instance=0, focus="numbers", sections=["main_text"], with_log=True,
                            model="m", severe_flaw=p, recommendation=recommend)


def test_scrutiny_lowers_the_escalation_band() -> None:
    settings = Critic2Section()
    assert band(settings, NO_SCRUTINY) == (0.3, 0.7)
    assert band(settings, Scrutiny(extra_critics=0, escalation_drop=0.2)) == pytest.approx(
        (0.1, 0.7)
    )
    major = ReportedFlaw.model_validate({
        "category": "overclaiming", "severity": "major", "confidence": 0.5,
        "status": "confirmed", "critic": "c2.investigate@1", "description": "d",
        "location": {"artifact_id": 1},
    })
    raised = Scrutiny(extra_critics=1, escalation_drop=0.1)
    for scrutiny, expected in (
        (NO_SCRUTINY, PaperDecision.MAJOR_REVISION), (raised, PaperDecision.ESCALATE)
    ):
        decided = decide(
            flaws=[major], instances=[_instance(0.1)], probability=0.25, settings=settings,
            scrutiny=scrutiny, rounds_left=1,
        )
        assert decided.decision == expected


def test_old_stored_decisions_stay_readable() -> None:
    assert PaperDecision("reject") is PaperDecision.REJECT
    assert {d.value for d in PaperDecision} >= {
        "accept", "minor_revision", "major_revision", "reassess", "escalate", "halt"
    }


async def test_a_reassessed_project_is_scoped_again_with_the_reassessment(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides.update(
        FlawCandidates=candidates(CRITICAL_METHOD, severe=90, recommend="reassess"),
        FlawCheck=check(severity="critical", confidence=90),
    )
    first = await run_agenda(agenda(model), store=store)
    (direction,) = store.artifacts(run_id=first.run.id, kind="direction_decision")
    again = await run_agenda(agenda(model), store=store, stage="execute")
    assert again.run.status == "completed"
    scope = store.artifact_by_step(first.run.id, "execute/scope/0@1")
    assert scope is not None
    assert (direction.id, "context") in {(e.parent_id, e.relation)
                                         for e in store.parents(scope.id)}
    (prompt,) = [p for name, p in script.calls if name == "ScopePlan" and "<reassessment>" in p]
    assert "method_flaw (critical)" in prompt


async def test_a_halted_project_is_not_executed_again(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides.update(
        FlawCandidates=candidates(CRITICAL_CLAIM, severe=95, recommend="halt"),
        FlawCheck=check(severity="critical", confidence=90),
    )
    first = await run_agenda(agenda(model), store=store)
    assert first.paper_id is not None
    proposal = store.artifact(store.artifact(first.paper_id).content_json["proposal"])
    assert proposal.status == "halted"
    again = await run_agenda(agenda(model), store=store, stage="execute")
    assert again.run.status == "stopped"
    assert "no selected proposal" in (again.run.stop_reason or "")
    assert store.artifact_by_step(first.run.id, "execute/scope/0@1") is None
