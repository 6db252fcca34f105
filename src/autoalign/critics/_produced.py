"""Critic #1, programmatic: results claimed or logged that no successful sandbox run produced."""

from __future__ import annotations

from typing import ClassVar

from ._finding import Finding, Location
from ._programmatic import ProgrammaticCritic
from ._protocol import register_critic
from ._step import ExecutedStep, StepRun
from ._taxonomy import FlawCategory, Severity


def _failure(run: StepRun) -> str | None:
    """Why a run produced no usable result, from the sandbox's record; None if it did."""
    r = run.run
    if r.killed_by is not None:
        return f"killed by {r.killed_by}"
    if r.exit_code != 0:
        return f"exit code {r.exit_code}"
    if r.result_error is not None:
        return f"result rejected: {r.result_error}"
    if r.result is None:
        return "no result recorded"
    return None


@register_critic
class ResultsProduced(ProgrammaticCritic[ExecutedStep]):
    """Every claim rests on successful runs of the step; every log row on one that returned it."""

    id = "c1.results-produced"
    version = "1"
    checks: ClassVar[tuple[str, ...]] = ("step_log", "experiment_claim", "sandbox_run")
    description = (
        "a result claimed or logged but never produced: no sandbox run behind it, or only a "
        "run that failed or was killed"
    )

    def rule(self, step: ExecutedStep) -> list[Finding]:
        findings: list[Finding] = []
        for i, claim in enumerate(step.claims):
            where = Location(artifact_id=claim.artifact_id, field=f"claims[{i}]")
            if not claim.run_ids:
                findings.append(Finding(
                    category=FlawCategory.UNPRODUCED_RESULT, severity=Severity.CRITICAL,
                    description="the claim rests on no sandbox run",
                    evidence=f"claim: {claim.text[:300]}", location=where,
                ))
                continue
            for run_id in claim.run_ids:
                run = step.run(run_id)
                why = "it is not a run of this step" if run is None else _failure(run)
                if why is not None:
                    findings.append(Finding(
                        category=FlawCategory.UNPRODUCED_RESULT, severity=Severity.CRITICAL,
                        description=f"the claim rests on sandbox run {run_id}, which produced "
                        "no result",
                        evidence=f"run {run_id}: {why}", location=where,
                    ))
        produced = {
            (run.arm, metric, seed)
            for run in step.runs if _failure(run) is None
            for metric, seed, _ in run.values()
        }
        for i, row in enumerate(step.log.rows):
            if (row.arm, row.metric, row.seed) in produced:
                continue
            arm_runs = [r for r in step.runs if r.arm == row.arm]
            if not arm_runs:
                why = f"no run of arm {row.arm!r}"
            elif all(_failure(r) is not None for r in arm_runs):
                why = "; ".join(f"run {r.artifact_id}: {_failure(r)}" for r in arm_runs)
            else:
                seed = "the mean" if row.seed is None else f"seed {row.seed}"
                why = f"no successful run of {row.arm!r} returned {row.metric} for {seed}"
            findings.append(Finding(
                category=FlawCategory.UNPRODUCED_RESULT, severity=Severity.CRITICAL,
                description=f"the log records {row.metric} of {row.arm} that no sandbox run "
                "produced",
                evidence=why,
                location=Location(artifact_id=step.log.artifact_id, field=f"rows[{i}]"),
            ))
        return findings
