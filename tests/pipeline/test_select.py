"""Stage 1's second half on a scripted team: detailed proposals, their critique and revision, the
judges, a selection of several projects within the budget, bundles and information screens, and
the screens enforced where a project's worker reads the database."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo

from autoalign.models import last_prompt, register_script
from autoalign.pipeline import run_agenda
from autoalign.pipeline._screens import APPEAL_PREFIX
from autoalign.store import Store
from autoalign.vocabulary import Relation

from .conftest import ANSWERS, Team, detailed_proposal
from .test_run import agenda

SECTIONS = (
    "title", "research_question", "motivation", "writing_task", "expected_outcome",
    "research_questions", "steps", "more_ambitious", "less_ambitious", "trajectories",
    "estimate",
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _final(store: Store, run_id: int) -> list[Any]:
    """The judged (final) proposals: those with a selection status."""
    return [p for p in store.artifacts(run_id=run_id, kind="proposal")
            if p.status in ("selected", "not_selected")]


async def test_proposals_have_every_section_and_their_revisions_are_linked(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    final = _final(store, run_id)
    assert len(final) == 2
    for p in final:
        body = p.content_json
        assert all(body[name] for name in SECTIONS), body
        assert {s["kind"] for s in body["steps"]} <= {"empirical", "mathematical", "conceptual"}
        assert body["estimate"]["tokens"] == 20000
        # The revision revises the draft and derives from the critique of that draft.
        edges = {e.relation: e.parent_id for e in store.parents(p.id)
                 if e.relation in (Relation.REVISES, Relation.DERIVED_FROM)}
        draft, critique = store.artifact(edges["revises"]), store.artifact(edges["derived_from"])
        assert draft.kind == "proposal" and draft.step_key.startswith("propose/proposal/")
        assert critique.kind == "proposal_critique"
        assert [e.parent_id for e in store.parents(critique.id)] == [draft.id]
        # Two judges, local validity and redundancy, each a judgments row with its score (the
        # scripted RubricScore, 6).
        judgments = store.judgments(artifact_id=p.id)
        assert sorted(j.score for j in judgments) == [6.0, 6.0] and len(judgments) == 2
        judges = {store.artifact(j.judge_artifact_id).step_key.split("/")[1] for j in judgments}
        assert judges == {"validity", "redundancy"}
    judged = [p for n, p in script.calls if n == "RubricScore" and "<proposal>" in p]
    assert script.count("ProposalCritique") == 2 and len(judged) == 2 * 2
    # One project (the agenda's cap): the other is not selected, and the reason says why.
    (refused,) = [p for p in final if p.status == "not_selected"]
    reason = store.status_history(refused.id)[-1].reason or ""
    assert "projects.max_projects" in reason


async def test_related_work_citing_a_missing_artifact_is_flagged(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["DetailedProposal"] = lambda prompt: detailed_proposal(
        prompt, related_work=[987654]
    )
    summary = await run_agenda(agenda(model, projects={"revision_rounds": 0}), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    for p in _final(store, summary.run.id):
        (flaw,) = store.flaws(artifact_id=p.id)
        assert flaw.category == "hallucinated_reference" and "987654" in flaw.description


async def test_two_projects_are_selected_within_the_budget_and_both_are_written_up(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["DetailedProposal"] = lambda prompt: detailed_proposal(
        prompt, estimate={"calls": 40, "tokens": 400_000, "sandbox_seconds": 60}
    )
    three = agenda(
        # every idea passes the screen, so three become proposals
        model, pipeline={"proposals": 3, "screen_keep": 1.0}, projects={"max_projects": 3},
        budget={"max_tokens": 1_000_000},
    )
    summary = await run_agenda(three, store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    (selection,) = store.artifacts(run_id=run_id, kind="selection")
    chosen = selection.content_json["proposal_ids"]
    final = _final(store, run_id)
    assert len(final) == 3 and len(chosen) == 2
    assert sorted(p.id for p in final if p.status == "selected") == sorted(chosen)
    # The third would not fit: 2 x 400k tokens are committed out of less than 1M left.
    (third,) = [p for p in final if p.status == "not_selected"]
    reason = store.status_history(third.id)[-1].reason or ""
    assert "does not fit the budget" in reason
    assert selection.content_json["budget_tokens"] < 1_000_000
    assert selection.content_json["reasons"][str(third.id)] == reason

    # Both projects ran, each under its own step keys, and each got its paper.
    logs = {a.step_key: a for a in store.artifacts(run_id=run_id, kind="research_log")}
    assert set(logs) == {"execute/research-log", "execute/p1/research-log"}
    assert [logs["execute/research-log"].content_json["proposal"],
            logs["execute/p1/research-log"].content_json["proposal"]] == chosen
    papers = {a.step_key: a.content_json for a in store.artifacts(run_id=run_id, kind="paper")}
    assert set(papers) == {"writeup/paper", "writeup/p1/paper"}
    assert papers["writeup/p1/paper"]["research_log"] == logs["execute/p1/research-log"].id
    assert papers["writeup/paper"]["proposal"] == chosen[0]
    # Critic #2 reviewed both papers, each under its project's keys.
    reports = {a.step_key for a in store.artifacts(run_id=run_id, kind="paper_critique")}
    assert reports == {"writeup/critic-2/0", "writeup/p1/critic-2/0"}
    # The portfolio judge looked at the two selected projects together.
    assert script.count("Portfolio") == 1
    # Each project's first step waited for the portfolio (its screens govern the project's
    # reads), and its provenance says so: the run's critical path counts that wait.
    (portfolio,) = store.artifacts(run_id=run_id, kind="portfolio")
    followers = {
        a.step_key for a in store.artifacts(run_id=run_id, kind="scope_plan")
        if (portfolio.id, "follows") in {(e.parent_id, e.relation) for e in store.parents(a.id)}
    }
    assert followers == {"execute/scope/0", "execute/p1/scope/0"}


# -- information screens ---------------------------------------------------------------------

SCREEN = {
    "bundles": [{"projects": [0, 1], "reason": "Both use the reward-hacking testbed."}],
    "screens": [{"first": 0, "second": 1, "question": "Do penalties cut hacking?",
                 "reason": "Different angles should stay independent."}],
}


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, text
    return int(found.group(1))


def _reader(store: Store, seen: list[str]) -> Any:
    """A worker that tries to read the other project's proposal, is refused, appeals, then
    plans like the team."""

    def worker(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        output = info.model_request_parameters.output_object
        name = output.name if output is not None else ""
        if name != "ExperimentPlan":
            return ModelResponse(parts=[TextPart(json.dumps(ANSWERS[name]))])
        returns = [str(p.content) for m in messages if isinstance(m, ModelRequest)
                   for p in m.parts if isinstance(p, ToolReturnPart)]
        if not returns:
            own = _number(r"context: \[(\d+)", last_prompt(messages))  # the task's proposal
            (selection,) = store.artifacts(kind="selection")
            (other,) = [p for p in selection.content_json["proposal_ids"] if p != own]
            return ModelResponse(parts=[ToolCallPart("read_result", {"artifact_id": other})])
        if len(returns) == 1:
            seen.append(returns[0])
            screen = _number(r"screen (\d+)", returns[0])
            return ModelResponse(parts=[ToolCallPart(
                "appeal_screen", {"screen_id": screen, "reason": "I need its baseline."}
            )])
        return ModelResponse(parts=[TextPart(json.dumps(ANSWERS["ExperimentPlan"]))])

    return worker


async def test_a_screen_refuses_a_workers_read_records_it_and_an_appeal_opens_a_review(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["Portfolio"] = lambda _prompt: SCREEN
    seen: list[str] = []
    register_script("screenreader", _reader(store, seen))
    two = agenda(model, projects={"max_projects": 2},
                 models={"roles": {"worker": "scripted:screenreader"}})
    summary = await run_agenda(two, store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    (selection,) = store.artifacts(run_id=run_id, kind="selection")
    a, b = selection.content_json["proposal_ids"]

    (bundle,) = store.artifacts(run_id=run_id, kind="bundle")
    assert bundle.content_json["proposals"] == [a, b]
    (screen,) = store.screens(run_id=run_id)
    assert (screen.project_a, screen.project_b, screen.active) == (a, b, True)
    assert store.screen_between(b, a) == screen  # what a cross-paper critic asks

    # Each project's worker tried to read the other's proposal: refused, told why, recorded.
    assert len(seen) == 2 and all(s.startswith("refused:") for s in seen)
    refusals = store.screen_refusals(run_id=run_id)
    assert sorted((r.reader_id, r.artifact_id, r.via) for r in refusals) == sorted([
        (a, b, "read_result"), (b, a, "read_result"),
    ])
    assert all(r.screen_id == screen.id for r in refusals)
    # Each appeal is a review request on the screen, naming it.
    appeals = [r for r in store.review_requests() if r.artifact_id == screen.artifact_id]
    assert len(appeals) == 2
    assert all(r.reason.startswith(f"{APPEAL_PREFIX} {screen.id} ") for r in appeals)

    # A human lifts it: the same read is allowed from then on.
    lifted = store.lift_screen(screen.id, reason=f"review {appeals[0].id}: needed")
    assert not lifted.active
    assert store.blocking_screen(reader=a, target=b) is None
    assert store.artifact(screen.artifact_id).status == "lifted"


def _citer(store: Store, scopes: list[str]) -> Any:
    """A proposer whose revisions cite the other project's draft as related work (it waits
    until both drafts are stored); everything else as the team answers (scoping prompts are
    kept in `scopes`)."""

    async def proposer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        output = info.model_request_parameters.output_object
        name = output.name if output is not None else ""
        prompt = last_prompt(messages)
        answer = ANSWERS[name]
        if name == "ScopePlan":
            scopes.append(prompt)
        if name != "DetailedProposal":
            answer = answer(prompt) if callable(answer) else answer
            return ModelResponse(parts=[TextPart(json.dumps(answer))])
        if "<idea>\n" in prompt:  # a draft
            return ModelResponse(parts=[TextPart(json.dumps(detailed_proposal(prompt)))])
        for _ in range(500):
            drafts = store.artifacts(step_key_prefix="propose/proposal/")
            if len(drafts) == 2:
                break
            await asyncio.sleep(0.01)
        # The revision prompt shows its own draft (the two drafts share a title).
        (other,) = [d.id for d in drafts if d.content_text not in prompt]
        return ModelResponse(parts=[TextPart(json.dumps(
            detailed_proposal(prompt, related_work=[other])
        ))])

    return proposer


async def test_related_work_across_a_screen_is_left_out_of_a_projects_prompt(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["Portfolio"] = lambda _prompt: SCREEN
    scopes: list[str] = []
    register_script("citer", _citer(store, scopes))
    two = agenda(model, projects={"max_projects": 2},
                 models={"roles": {"proposer": "scripted:citer"}})
    summary = await run_agenda(two, store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    (selection,) = store.artifacts(run_id=run_id, kind="selection")
    a, b = selection.content_json["proposal_ids"]
    cited = {p: store.artifact(p).content_json["related_work"] for p in (a, b)}
    # Each project's scoping was refused the other's draft its proposal cites, and said so.
    refusals = sorted((r.reader_id, r.artifact_id, r.via, r.step_key)
                      for r in store.screen_refusals(run_id=run_id))
    assert refusals == sorted([
        (a, cited[a][0], "related_work", "execute/scope/0"),
        (b, cited[b][0], "related_work", "execute/p1/scope/0"),
    ])
    assert len(scopes) == 2 and all("<related_work>" not in p for p in scopes)
