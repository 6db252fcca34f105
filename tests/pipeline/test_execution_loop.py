"""The execution loop end to end on a scripted team: what each decision left in the store.

Every experiment here really runs in the sandbox (the reward-hacking testbed, two seeds), so the
numbers in the step logs are the sandbox's own.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo

from autoalign.agenda import Agenda, parse_agenda
from autoalign.calibration import score_claims
from autoalign.models import register_script
from autoalign.pipeline import run_agenda
from autoalign.pipeline._schemas import StepLog
from autoalign.runtime import Hooks, StepInfo
from autoalign.store import Store
from autoalign.testbeds import Truth
from autoalign.vocabulary import ClaimSource

from .conftest import ANSWERS, BASELINE, PENALTY, QUESTION, Team
from .test_run import agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def interpretation(decision: str, **extra: Any) -> dict[str, Any]:
    return {**ANSWERS["RoundInterpretation"], "decision": decision, **extra}


def content(store: Store, run_id: int, kind: str) -> list[dict[str, Any]]:
    return [a.content_json for a in store.artifacts(run_id=run_id, kind=kind)]


def with_two_testbeds(base: Agenda) -> Agenda:
    """The agenda with topics that may use the probe testbed too: a plan may then name one of
    its knobs on the reward-hacking testbed, which the schema allows and the sandbox rejects."""
    return parse_agenda({
        **base.model_dump(mode="json", exclude={"topics"}),
        "topics": [{"name": n, "testbeds": ["reward_hacking", "probe_detection"]}
                   for n in ("Reward hacking", "Probes")],
    })


WRONG_KNOB = {**PENALTY, "settings": [{"knob": "signal", "value": 1.0}]}
"""A probe-detection knob on a reward-hacking arm."""

SPIN_OFF = {
    "title": "Penalty schedules", "research_question": "Does a decaying penalty cut hacking?",
    "motivation": "The flat penalty helped.", "first_step": "Compare decay rates.",
}


async def test_a_project_runs_rounds_until_its_iteration_limit(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(agenda(model, execution={"max_iterations": 3}), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    decisions = content(store, run_id, "decision")
    assert [(d["round"], d["proposed"], d["taken"]) for d in decisions] == [
        (0, "continue", "continue"), (1, "continue", "continue"), (2, "continue", "stop"),
    ]
    assert "the last round allowed" in decisions[2]["reason"]
    assert script.count("ScopePlan") == 3 and script.count("RoundInterpretation") == 3
    # Round 2's scoping saw round 1's step, its status and its numbers as the sandbox gave them.
    scope_prompts = [p for n, p in script.calls if n == "ScopePlan"]
    assert "none yet" in scope_prompts[0]
    assert "[step execute/task/0.0]" in scope_prompts[1] and "status: usable" in scope_prompts[1]
    (first_log, *_rest) = store.artifacts(run_id=run_id, kind="step_log")
    first_mean = next(r for r in first_log.content_json["rows"] if r["seed"] is None)
    assert repr(first_mean["value"]) in scope_prompts[1]
    # Each round delegated a task with its role, context and budget; each later task is shown
    # the earlier usable steps.
    tasks = content(store, run_id, "task_spec")
    assert [t["round"] for t in tasks] == [0, 1, 2]
    assert all(t["role"] == "worker" and t["budget"]["max_runs"] == 4 for t in tasks)
    assert len(tasks[2]["context"]) == 1 + 2  # the proposal and the two earlier step logs
    # The research log lists every step, all usable, and the write-up is written from it.
    (log,) = content(store, run_id, "research_log")
    assert [s["round"] for s in log["steps"]] == [0, 1, 2]
    assert all(s["usable"] for s in log["steps"])
    assert summary.paper_status == "accepted"


async def test_every_claim_links_to_the_sandbox_runs_it_rests_on(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    run_id = summary.run.id
    (claim_artifact,) = store.artifacts(run_id=run_id, kind="experiment_claim")
    (claim,) = store.claims(artifact_id=claim_artifact.id)
    testbed, _, question = QUESTION.partition("/")
    assert (claim.testbed, claim.question_id) == (testbed, question)
    assert (claim.effect, claim.ci_low, claim.ci_high, claim.probability) == (
        -0.1, -0.2, 0.0, 0.7
    )
    runs = store.artifacts(run_id=run_id, kind="sandbox_run")
    assert len(runs) == 2 and all(r.status == "ok" for r in runs)
    parents = {e.parent_id for e in store.parents(claim_artifact.id)}
    assert {r.id for r in runs} <= parents
    # The step log holds every number exactly as the sandbox returned it.
    (step_log,) = store.artifacts(run_id=run_id, kind="step_log")
    log = StepLog.model_validate(step_log.content_json)
    for run in runs:
        result = run.content_json["result"]
        logged = {(r.metric, r.seed): r.value for r in log.rows if r.run == run.id}
        for seed, values in zip(result["spec"]["seeds"], result["per_seed"], strict=True):
            assert all(logged[(m, seed)] == v for m, v in values.items())
        assert all(logged[(m, None)] == v for m, v in result["mean"].items())


async def test_a_rejected_spec_is_asked_again_with_the_error_then_fails_without_stopping(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["ScopePlan"] = lambda _p: {**ANSWERS["ScopePlan"], "run_now": [0, 1]}
    # The noise step always plans a knob its testbed does not have; the penalty step plans well.
    script.overrides["ExperimentPlan"] = lambda p: {
        "rationale": "r",
        "arms": [BASELINE, WRONG_KNOB] if "Noise experiment" in p else [BASELINE, PENALTY],
    }
    summary = await run_agenda(
        with_two_testbeds(agenda(model, execution={"steps_per_round": 2, "spec_retries": 1})),
        store=store,
    )
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    noise_prompts = [
        p for n, p in script.calls if n == "ExperimentPlan" and "Noise experiment" in p
    ]
    assert len(noise_prompts) == 2  # asked, then asked again once with the sandbox's error
    assert "<sandbox_error>" not in noise_prompts[0]
    assert "<sandbox_error>" in noise_prompts[1]
    assert "testbed 'reward_hacking' has no knob 'signal'" in noise_prompts[1]
    logs = {a.step_key: a for a in store.artifacts(run_id=run_id, kind="step_log")}
    failed, good = logs["execute/step/0.1/log"], logs["execute/step/0.0/log"]
    assert failed.status == "failed" and good.status == "ok"
    assert failed.content_json["attempts"] == 2
    assert "has no knob 'signal'" in failed.content_json["error"]
    # The rejected spec ran in the sandbox once (the re-ask repeated it, and found its record).
    rejected = [r for r in failed.content_json["runs"] if not r["ok"]]
    assert len(rejected) == 1 and "exit 203" in rejected[0]["error"]
    # The other step and the write-up went on.
    (research_log,) = content(store, run_id, "research_log")
    usable = {s["log"]: s["usable"] for s in research_log["steps"]}
    assert usable == {good.id: True, failed.id: False}
    assert summary.paper_status == "accepted"


def _tamper_penalty_log(hooks: Hooks) -> None:
    """A worker that misreports: the penalty arm's mean hacking rate is logged wrong."""

    @hooks.after_step
    def misreport(info: StepInfo, output: BaseModel) -> BaseModel | None:
        if info.key != "execute/step/0.0/log" or not isinstance(output, StepLog):
            return None
        rows = [
            r.model_copy(update={"value": r.value + 0.5})
            if r.arm == "penalty" and r.seed is None else r
            for r in output.rows
        ]
        return output.model_copy(update={"rows": rows})


async def test_a_critical_critic_1_flaw_blocks_the_steps_results(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    hooks = Hooks()
    _tamper_penalty_log(hooks)
    summary = await run_agenda(
        agenda(model, execution={"max_iterations": 2}), store=store, hooks=hooks
    )
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    steps = {a.step_key: a for a in store.artifacts(run_id=run_id, kind="step_log")}
    bad, good = steps["execute/step/0.0/log"], steps["execute/step/1.0/log"]
    flaws = store.flaws(artifact_id=bad.id)
    critical = [f for f in flaws if f.severity == "critical"]
    assert critical and all(
        (f.category, f.critic, f.critic_version) == ("number_mismatch", "c1.numbers-match", "1")
        for f in critical
    )
    # The step's log, report and claim are unusable; the decision is a record.
    (check,) = [a for a in store.artifacts(run_id=run_id, kind="check_report")
                if a.step_key == "execute/step/0.0/check"]
    report = next(a for a in store.artifacts(run_id=run_id, kind="step_report")
                  if a.step_key == "execute/step/0.0/report")
    claim = next(a for a in store.artifacts(run_id=run_id, kind="experiment_claim")
                 if a.step_key == "execute/step/0.0/claim/0")
    assert check.content_json["selected"] and check.content_json["critical"] == len(critical)
    assert sorted(check.content_json["unusable"]) == sorted([bad.id, report.id, claim.id])
    for artifact in (bad, report, claim):
        assert store.artifact(artifact.id).status == "unusable"
    assert "critic #1 found a critical flaw" in (store.status_history(bad.id)[-1].reason or "")
    # Scoping of the next round saw it.
    scope_prompts = [p for n, p in script.calls if n == "ScopePlan"]
    assert "status: NOT USABLE (critic #1 found a critical flaw" in scope_prompts[1]
    # Downstream uses only the good step: the research log leaves the bad one out.
    (research_log,) = store.artifacts(run_id=run_id, kind="research_log")
    steps_listed = {s["log"]: s["usable"] for s in research_log.content_json["steps"]}
    assert steps_listed == {bad.id: False, good.id: True}
    parents = {e.parent_id for e in store.parents(research_log.id)}
    assert good.id in parents and bad.id not in parents and claim.id not in parents
    tampered = next(r["value"] for r in bad.content_json["rows"]
                    if r["arm"] == "penalty" and r["seed"] is None)
    assert repr(tampered) not in research_log.content_text
    assert summary.paper_status == "accepted"


async def test_critic_1_checks_at_its_rate_and_always_after_a_failed_attempt(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["ScopePlan"] = lambda _p: {**ANSWERS["ScopePlan"], "run_now": [0, 1]}
    # The penalty step's first attempt plans another testbed's knob and fails; its second
    # plans well.
    script.overrides["ExperimentPlan"] = lambda p: {
        "rationale": "r",
        "arms": [BASELINE, WRONG_KNOB] if "Penalty experiment" in p and "attempt 1)" in p
        else [BASELINE, PENALTY],
    }
    execution = {
        "max_iterations": 2, "steps_per_round": 2, "spec_retries": 0,
        "check_rate": 0.0, "check_rate_after_failure": 1.0,
    }
    summary = await run_agenda(with_two_testbeds(agenda(model, execution=execution)), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    tasks = {a.step_key: a.content_json for a in store.artifacts(
        run_id=summary.run.id, kind="task_spec")}
    checks = {a.step_key: a.content_json
              for a in store.artifacts(run_id=summary.run.id, kind="check_report")}
    assert [tasks[f"execute/task/{k}"]["attempt"] for k in ("0.0", "0.1", "1.0", "1.1")] == [
        1, 1, 2, 1
    ]
    # The failed step has nothing to check; a first attempt is never checked at rate 0 (and
    # its decision is recorded); a second attempt always is, by every critic #1 check.
    assert "execute/step/0.0/check" not in checks
    for key in ("execute/step/0.1/check", "execute/step/1.1/check"):
        assert (checks[key]["selected"], checks[key]["critics"]) == (False, [])
    retried = checks["execute/step/1.0/check"]
    assert retried["selected"] and retried["rate"] == 1.0 and retried["attempt"] == 2
    assert {c.split("@")[0] for c in retried["critics"]} == {
        "c1.claim-evidence", "c1.code-integrity", "c1.numbers-match", "c1.question-scope",
        "c1.results-produced", "c1.spirit",
    }
    assert script.count("SpiritVerdict") == 1


async def test_a_spin_off_approved_by_the_judges_is_executed_by_a_stage_rerun(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["RoundInterpretation"] = lambda _p: interpretation(
        "spin_off", spin_off=SPIN_OFF
    )
    votes = itertools.cycle([True, False, True])
    script.overrides["DecisionVote"] = lambda _p: {"approve": next(votes), "rationale": "r"}
    summary = await run_agenda(
        agenda(model, execution={"max_iterations": 3, "judges": 3}), store=store
    )
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id
    (decision,) = content(store, run_id, "decision")  # the loop ended at round 1
    assert (decision["proposed"], decision["taken"]) == ("spin_off", "spin_off")
    assert (decision["approvals"], decision["votes"]) == (2, 3)
    spin_off = store.artifact(decision["spin_off"])
    assert spin_off.kind == "proposal" and spin_off.status == "selected"
    assert spin_off.title == "Penalty schedules"
    # Each judge's vote is a judgment on the interpretation, with distinct prompts.
    (interp,) = store.artifacts(run_id=run_id, kind="interpretation")
    assert sorted(j.decision for j in store.judgments(artifact_id=interp.id)) == [
        "approve", "approve", "reject"
    ]
    vote_prompts = [p for n, p in script.calls if n == "DecisionVote"]
    assert len(set(vote_prompts)) == 3
    # The spin-off is the selected proposal the next execution takes up.
    again = await run_agenda(
        agenda(model, execution={"max_iterations": 3, "judges": 3}), store=store,
        stage="execute",
    )
    assert again.run.status == "completed", again.run.stop_reason
    logs = store.artifacts(run_id=run_id, kind="research_log")
    assert [log.content_json["proposal"] for log in logs][-1] == spin_off.id


async def test_a_far_decision_the_judges_reject_is_not_acted_on(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["RoundInterpretation"] = lambda _p: interpretation("sunset")
    script.overrides["DecisionVote"] = lambda _p: {"approve": False, "rationale": "too early"}
    summary = await run_agenda(agenda(model, execution={"max_iterations": 2}), store=store)
    decisions = content(store, summary.run.id, "decision")
    assert [(d["proposed"], d["taken"]) for d in decisions] == [
        ("sunset", "continue"), ("sunset", "stop")
    ]
    assert "did not approve sunset (0 of 1 valid votes)" in decisions[0]["reason"]
    (proposal,) = [p for p in store.artifacts(run_id=summary.run.id, kind="proposal")
                   if p.status == "selected"]
    assert [e.status for e in store.status_history(proposal.id)][-1] == "selected"


async def test_an_approved_sunset_ends_the_direction(store: Store, team: tuple[Team, str]) -> None:
    script, model = team
    script.overrides["RoundInterpretation"] = lambda _p: interpretation("sunset")
    summary = await run_agenda(agenda(model, execution={"max_iterations": 3}), store=store)
    (decision,) = content(store, summary.run.id, "decision")
    assert decision["taken"] == "sunset"
    sunset = [p for p in store.artifacts(run_id=summary.run.id, kind="proposal")
              if p.status == "sunset"]
    assert len(sunset) == 1
    assert store.status_history(sunset[0].id)[-1].reason.startswith("sunset after round 1")


# -- a worker that calls its tools -------------------------------------------------------------


def _tool_worker(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Plans with tools: looks the testbeds up, runs a bad arm (and is told why), then a good
    one, then answers with a plan. Reports like the team."""
    output = info.model_request_parameters.output_object
    name = output.name if output is not None else ""
    if name != "ExperimentPlan":
        return ModelResponse(parts=[TextPart(json.dumps(ANSWERS[name]))])
    returns = [p for m in messages if isinstance(m, ModelRequest) for p in m.parts
               if isinstance(p, ToolReturnPart | RetryPromptPart)]
    if not returns:
        return ModelResponse(parts=[ToolCallPart("list_testbeds", {})])
    if len(returns) == 1:
        bad = {**PENALTY, "settings": [{"knob": "nosuch", "value": 1}]}
        return ModelResponse(parts=[ToolCallPart("run_experiment", {"arm": bad})])
    if len(returns) == 2:
        return ModelResponse(parts=[ToolCallPart("run_experiment", {"arm": PENALTY})])
    return ModelResponse(parts=[TextPart(json.dumps(ANSWERS["ExperimentPlan"]))])


async def test_a_worker_runs_experiments_through_its_tools(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    register_script("toolworker", _tool_worker)
    the_agenda = agenda(model, models={"roles": {"worker": "scripted:toolworker"}})
    summary = await run_agenda(the_agenda, store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    (log,) = content(store, summary.run.id, "step_log")
    vias = sorted((r["arm"], r["via"], r["ok"]) for r in log["runs"])
    # The tool's bad arm was rejected by the sandbox (and the model told why); its good arm ran,
    # and the plan's arms ran too (the penalty arm is the tool's run, found by its key).
    assert vias == [
        ("baseline", "plan", True), ("penalty", "tool", False), ("penalty", "tool", True),
    ]
    (plan,) = store.artifacts(run_id=summary.run.id, kind="experiment_plan")
    calls = [c for c in store.calls(run_id=summary.run.id) if c.step_key == plan.step_key]
    assert len(calls) == 1  # one ask, several requests inside it


async def test_calibration_scores_the_agents_claims_apart_from_the_studys(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    testbed, _, question = QUESTION.partition("/")
    truth = Truth(
        testbed=testbed, question_id=question, version="1", metric="hack_rate",
        effect_kind="difference", threshold=-0.05, direction="at_most", effect=-0.2, se=0.01,
        estimator="paired_difference", n_seeds=300, answer=True, baseline_mean=0.4,
        treated_mean=0.2,
    )
    report = score_claims(store, truth_for=lambda _name: [truth], n_boot=50)
    (scored,) = report.claims
    (claim,) = store.claims(artifact_id=scored.artifact_id)
    assert claim.source == ClaimSource.PIPELINE and claim.model == model
    assert store.artifact(scored.artifact_id).run_id == summary.run.id
    (by_model,) = [g for g in report.groups_by("model") if g.source == ClaimSource.PIPELINE]
    assert by_model.model == model and by_model.report.n == 1
    brier = next(s for s in by_model.report.scores if s.statistic == "brier")
    assert brier.value == pytest.approx((0.7 - 1.0) ** 2)


async def test_an_analysis_step_works_from_the_earlier_usable_results(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team

    def scope(prompt: str) -> dict[str, Any]:
        plan = json.loads(json.dumps(ANSWERS["ScopePlan"]))
        if "none yet" not in prompt:  # round 2: analyse what round 1 ran
            plan["candidates"][0]["kind"] = "analysis"
        return plan

    script.overrides["ScopePlan"] = scope
    summary = await run_agenda(agenda(model, execution={"max_iterations": 2}), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    assert script.count("ExperimentPlan") == 1  # only round 1's experiment planned arms
    logs = {a.step_key: a.content_json for a in store.artifacts(
        run_id=summary.run.id, kind="step_log")}
    first, analysis = logs["execute/step/0.0/log"], logs["execute/step/1.0/log"]
    assert [r["artifact_id"] for r in analysis["runs"]] == [
        r["artifact_id"] for r in first["runs"]
    ]
    assert {r["via"] for r in analysis["runs"]} == {"earlier"}
    assert analysis["rows"] == first["rows"]
    assert len(store.artifacts(run_id=summary.run.id, kind="sandbox_run")) == 2


async def test_an_interrupted_loop_resumes_without_repeating_runs_or_calls(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    hooks = Hooks()

    class Crash(Exception):
        """The process dies here (a KeyboardInterrupt in a task would stop the test runner)."""

    @hooks.before_step
    def die(info: StepInfo) -> str | None:
        if info.key == "execute/step/0.0/report":  # after the plan ran in the sandbox
            raise Crash
        return None

    with pytest.raises(Crash):
        await run_agenda(agenda(model), store=store, hooks=hooks)
    (run,) = store.list_runs()
    assert run.status == "failed"
    runs_before = [(a.id, a.step_key) for a in store.artifacts(run_id=run.id, kind="sandbox_run")]
    assert len(runs_before) == 2
    calls_before = len(script.calls)

    done = await run_agenda(agenda(model), store=store)
    assert done.run.id == run.id and done.run.status == "completed"
    runs_after = [(a.id, a.step_key) for a in store.artifacts(run_id=run.id, kind="sandbox_run")]
    assert runs_after == runs_before  # the sandbox runs were found, not run again
    assert script.count("ExperimentPlan") == 1  # the plan was resumed, not asked again
    # Only the steps not yet answered were asked: the report onwards.
    asked = [n for n, _ in script.calls[calls_before:]]
    assert asked[0] == "StepReport" and "ScopePlan" not in asked
    keys = [a.step_key for a in store.artifacts(run_id=run.id)]
    assert len(keys) == len(set(keys))


async def test_a_step_scoped_to_a_question_must_answer_it(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["StepReport"] = lambda _p: {"summary": "Nothing to say.", "answers": []}
    summary = await run_agenda(agenda(model), store=store)
    (report,) = store.artifacts(run_id=summary.run.id, kind="step_report")
    assert report.status == "failed"  # re-asked (output_retries = 1), still no answer
    assert script.count("StepReport") == 2
    assert store.artifacts(run_id=summary.run.id, kind="experiment_claim") == []
    # The step's numbers stand without the report: it is still checked and usable.
    (log,) = store.artifacts(run_id=summary.run.id, kind="step_log")
    assert store.artifact(log.id).status == "ok"
