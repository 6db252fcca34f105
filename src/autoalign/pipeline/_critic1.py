"""Critic #1 in the execution loop: check a step sparsely, record what was found, act on it.

Whether a step is checked is drawn from `CheckRate` (the agenda's `execution.check_rate`, and
`check_rate_after_failure` for a step whose earlier attempts at the same question failed); the
draw depends only on the run and the step, so a resumed run checks the same steps. A checked step
goes through every registered critic #1 check (programmatic and LLM). Their findings are stored as
flaws with the critic's id and version; a critical one marks the step's results `unusable`, which
scoping, interpretation and the write-up all see. The decision is recorded either way (a
`check_report`), so a test or a reader can see what was checked, by whom, and why not.
"""

from __future__ import annotations

import re

from ..critics import (
    CheckRate,
    Critic,
    CriticContext,
    CriticScale,
    ExecutedStep,
    Finding,
    Interpretation,
    LogRow,
    ResearchLog,
    ScopedTask,
    StepClaim,
    WorkerCode,
    is_selected,
    list_critics,
    load_step_runs,
    record_findings,
)
from ..errors import DataError
from ..runtime import Findings, StageContext, StatusChange, StepResult, fan_out
from ..store import CallWait, Store, erased_mark
from ..vocabulary import Kind, Relation, Stage, Status
from ._schemas import CheckDecision, ClaimContent, DelegatedTask, StepLog, StepReport

STAGE = Stage.EXECUTE


def executed_step(
    ctx: StageContext,
    *,
    key: str,
    task: StepResult[DelegatedTask],
    log: StepResult[StepLog],
    report: StepResult[StepReport] | None,
    claims: list[tuple[int, StepClaim]],
) -> ExecutedStep:
    """What critic #1 checks about a step, read from the step's stored records."""
    spec, content = task.output, log.output
    assert spec is not None and content is not None
    return _executed_step(
        ctx.store, step_key=ctx.key(key), task_id=task.id, spec=spec, log_id=log.id,
        content=content,
        interpretation=(
            Interpretation(artifact_id=report.id, text=report.output.summary)
            if report is not None and report.output is not None else None
        ),
        claims=[c for _, c in claims],
    )


def _executed_step(
    store: Store,
    *,
    step_key: str,
    task_id: int,
    spec: DelegatedTask,
    log_id: int,
    content: StepLog,
    interpretation: Interpretation | None,
    claims: list[StepClaim],
) -> ExecutedStep:
    codes = [r.code for r in content.runs if r.code is not None]
    code = store.artifact(codes[-1]) if codes else None
    if code is not None and erased_mark(code.content_json) is not None:  # part ER
        raise DataError(f"worker_code {code.id} was erased: its source cannot be checked")
    return ExecutedStep(
        step_key=step_key,
        attempt=spec.attempt,
        task=ScopedTask(
            artifact_id=task_id,
            objective=spec.objective,
            testbed=spec.testbed,
            question_id=spec.question.partition("/")[2] if spec.question else None,
        ),
        code=(
            WorkerCode(artifact_id=code.id, source=str(code.content_json.get("source", "")))
            if code is not None else None
        ),
        runs=load_step_runs(store, [(r.artifact_id, r.arm) for r in content.runs]),
        log=ResearchLog(
            artifact_id=log_id,
            rows=[LogRow(metric=r.metric, arm=r.arm, seed=r.seed, value=r.value)
                  for r in content.rows],
            text="",
        ),
        interpretation=interpretation,
        claims=claims,
    )


def stored_executed_step(store: Store, report_id: int) -> ExecutedStep | None:
    """What critic #1 checks of the stored step whose worker's report is `report_id`, for
    readers outside a run (the red team samples completed runs' steps as clean subjects): the
    report's step log and task (its provenance parents), the sandbox runs the log lists, the
    worker's code, and the step's claims (`<step>/claim/<n>`, stated in the report). None when
    `report_id` is no step report or those records do not validate."""
    art = store.artifact(report_id)
    head, sep, round_suffix = (art.step_key or "").rpartition("/report")
    if art.kind != Kind.STEP_REPORT or not sep or (round_suffix and
                                                   not round_suffix.startswith("@")):
        return None
    parents = store.artifacts(ids=[e.parent_id for e in store.parents(report_id)])
    log = next((a for a in parents if a.kind == Kind.STEP_LOG), None)
    task = next((a for a in parents if a.kind == Kind.TASK_SPEC), None)
    summary = art.content_json.get("summary") if isinstance(art.content_json, dict) else None
    if log is None or task is None or not isinstance(summary, str):
        return None
    if erased_mark(log.content_json) is not None:  # an erased log cannot be checked (part ER)
        return None
    try:
        spec = DelegatedTask.model_validate(task.content_json)
        content = StepLog.model_validate(log.content_json)
        stated = [
            (c.id, ClaimContent.model_validate(c.content_json))
            for c in store.artifacts(run_id=art.run_id, kind=Kind.EXPERIMENT_CLAIM,
                                     step_key_prefix=f"{head}/claim/")
            if re.fullmatch(rf"\d+{re.escape(round_suffix)}",
                            (c.step_key or "").removeprefix(f"{head}/claim/"))
        ]
    except ValueError:
        return None
    claims = []
    for claim_id, c in stated:
        testbed, _, qid = c.question.partition("/")
        claims.append(StepClaim(
            artifact_id=claim_id, text=c.text, testbed=testbed, question_id=qid,
            estimate=c.effect, ci_low=c.ci_low, ci_high=c.ci_high, probability=c.probability,
            run_ids=c.runs,
        ))
    try:
        return _executed_step(
            store, step_key=head + round_suffix, task_id=task.id, spec=spec, log_id=log.id,
            content=content, interpretation=Interpretation(artifact_id=art.id, text=summary),
            claims=claims,
        )
    except DataError:  # a sandbox run or the code was erased: nothing left to check
        return None


async def check_step(
    ctx: StageContext,
    *,
    key: str,
    step: ExecutedStep,
    results: list[int],
) -> StepResult[CheckDecision]:
    """Run critic #1 on `step` if it is drawn, store its findings, and act on critical ones.

    Args:
        key: the check record's step key (without the round suffix).
        step: the executed step.
        results: the step's result artifacts (its log, report and claims) a critical finding
            marks unusable.
    """
    done = ctx.store.artifact_by_step(ctx.run.id, ctx.key(key))
    if done is not None:
        return ctx.typed(done, CheckDecision)
    execution = ctx.agenda.execution
    rate = CheckRate(
        rate=execution.check_rate,
        after_failure=max(execution.check_rate, execution.check_rate_after_failure),
    )
    selected = is_selected(step, rate, salt=str(ctx.run.id))
    ran: list[str] = []
    critical: list[str] = []
    total = 0
    calls: list[CallWait] = []
    if selected:
        context = CriticContext(models=ctx.client)
        critics = list_critics(scale=CriticScale.STEP)

        async def run(critic: Critic[ExecutedStep]) -> list[Finding] | DataError:
            try:
                return await critic.check(step, context=context)
            except DataError as exc:  # an LLM critic without a valid verdict: noted, not fatal
                return exc

        # The critics are independent of each other: their model calls go out together.
        with ctx.watch_calls() as watched:
            outcomes = await fan_out([run(c) for c in critics])
        calls = watched.waits
        for critic, findings in zip(critics, outcomes, strict=True):
            if isinstance(findings, DataError):
                ran.append(f"{critic.id}@{critic.version} (no verdict: {findings})")
                continue
            ran.append(f"{critic.id}@{critic.version}")
            record_findings(ctx.store, critic=critic, findings=findings)
            total += len(findings)
            critical += [
                f"{critic.id}: {f.description}" for f in findings if f.severity.value == "critical"
            ]
    unusable = results if critical else []
    reason = "critic #1 found a critical flaw: " + "; ".join(critical)[:500]
    decision = CheckDecision(
        selected=selected, rate=rate.for_attempt(step.attempt), attempt=step.attempt,
        critics=ran, findings=total, critical=len(critical), unusable=unusable,
    )
    return ctx.record(
        key=key,
        kind=Kind.CHECK_REPORT,
        stage=STAGE,
        content=decision,
        render=_render,
        # What the critics read: the log and, as context, the step's other results.
        parents=[step.log.artifact_id, *[
            (a, Relation.CONTEXT) for a in results if a != step.log.artifact_id
        ]],
        calls=calls,
        findings=lambda r: Findings(
            about=step.log.artifact_id,
            statuses=[
                StatusChange(artifact_id=a, status=Status.UNUSABLE, reason=reason)
                for a in (r.output.unusable if r.output else [])
            ],
        ),
    )


def _render(d: CheckDecision) -> str:
    if not d.selected:
        return f"Not checked (attempt {d.attempt}, check rate {d.rate:.2f})."
    lines = [
        f"Checked (attempt {d.attempt}, check rate {d.rate:.2f}) by: " + ", ".join(d.critics),
        f"Findings: {d.findings}, critical: {d.critical}",
    ]
    if d.unusable:
        lines.append("Marked unusable: " + ", ".join(str(a) for a in d.unusable))
    return "\n".join(lines)


__all__ = ["check_step", "executed_step"]
