"""Critic #1, programmatic: claims from one seed or without an interval; a different question."""

from __future__ import annotations

import math
from typing import ClassVar

from ..errors import ConfigError
from ..testbeds import get_testbed
from ._finding import Finding, Location
from ._programmatic import ProgrammaticCritic
from ._protocol import register_critic
from ._step import ExecutedStep
from ._taxonomy import FlawCategory, Severity


def _below_or_at(a: float | None, b: float | None) -> bool:
    """a <= b, allowing for rounding in the last printed digits (relative 1e-9)."""
    assert a is not None and b is not None
    return a <= b + 1e-9 * max(1.0, abs(a), abs(b))


@register_critic
class ClaimEvidence(ProgrammaticCritic[ExecutedStep]):
    """A claim needs at least two seeds (counted in its runs, not as stated) and an interval
    that contains its own estimate."""

    id = "c1.claim-evidence"
    version = "2"
    checks: ClassVar[tuple[str, ...]] = ("experiment_claim", "sandbox_run")
    description = (
        "a claim from one seed, without a finite, ordered interval, or with an interval that "
        "does not contain its own estimate"
    )

    def rule(self, step: ExecutedStep) -> list[Finding]:
        findings: list[Finding] = []
        for i, claim in enumerate(step.claims):
            where = Location(artifact_id=claim.artifact_id, field=f"claims[{i}]")
            runs = [r for r in (step.run(rid) for rid in claim.run_ids) if r is not None]
            # The seeds the runs actually covered; an arm's seeds count once however many arms.
            per_arm = [len(set(r.seeds)) for r in runs if r.seeds]
            counted = min(per_arm) if per_arm else None
            stated = claim.n_seeds
            n = counted if counted is not None else stated
            if n is not None and n < 2:
                findings.append(Finding(
                    category=FlawCategory.WEAK_EVIDENCE, severity=Severity.MAJOR,
                    description="the claim rests on a single seed",
                    evidence=f"seeds in its runs: {counted}; stated: {stated}", location=where,
                ))
            if not claim.has_interval:
                findings.append(Finding(
                    category=FlawCategory.WEAK_EVIDENCE, severity=Severity.MAJOR,
                    description="the claim has no usable interval",
                    evidence=f"interval: [{claim.ci_low}, {claim.ci_high}]", location=where,
                ))
            elif claim.estimate is not None and math.isfinite(claim.estimate) and not (
                _below_or_at(claim.ci_low, claim.estimate)
                and _below_or_at(claim.estimate, claim.ci_high)
            ):
                findings.append(Finding(
                    category=FlawCategory.WEAK_EVIDENCE, severity=Severity.MAJOR,
                    description="the claim's interval does not contain its own estimate",
                    evidence=f"estimate {claim.estimate!r}; interval [{claim.ci_low!r}, "
                    f"{claim.ci_high!r}]",
                    location=where,
                ))
        return findings


@register_critic
class QuestionScope(ProgrammaticCritic[ExecutedStep]):
    """The step answers the scoped question: its claims name it, its runs are its arms."""

    id = "c1.question-scope"
    version = "1"
    checks: ClassVar[tuple[str, ...]] = ("task_spec", "experiment_claim", "sandbox_run")
    description = "a step that answers a different question than the one scoped"

    def rule(self, step: ExecutedStep) -> list[Finding]:
        task = step.task
        findings: list[Finding] = []
        if task.testbed is None:
            return findings
        where_task = Location(artifact_id=task.artifact_id, field="question_id")
        for i, claim in enumerate(step.claims):
            if claim.question_id is None:
                continue  # a claim about no testbed question answers nothing scoped
            if (claim.testbed, claim.question_id) != (task.testbed, task.question_id):
                findings.append(Finding(
                    category=FlawCategory.QUESTION_DRIFT, severity=Severity.MAJOR,
                    description="the claim answers a different question than the one scoped",
                    evidence=f"scoped {task.testbed}/{task.question_id}; claim answers "
                    f"{claim.testbed}/{claim.question_id}",
                    location=Location(artifact_id=claim.artifact_id, field=f"claims[{i}]"),
                ))
        if task.question_id is not None and step.claims and not any(
            (c.testbed, c.question_id) == (task.testbed, task.question_id) for c in step.claims
        ):
            findings.append(Finding(
                category=FlawCategory.QUESTION_DRIFT, severity=Severity.MAJOR,
                description="no claim answers the scoped question",
                evidence=f"scoped {task.testbed}/{task.question_id}", location=where_task,
            ))
        for run in step.runs:
            if run.testbed is not None and run.testbed != task.testbed:
                findings.append(Finding(
                    category=FlawCategory.QUESTION_DRIFT, severity=Severity.MAJOR,
                    description="a run is on a different testbed than the one scoped",
                    evidence=f"scoped {task.testbed}; run used {run.testbed}",
                    location=Location(artifact_id=run.artifact_id, field="result.spec.testbed"),
                ))
        if task.question_id is None:
            return findings
        try:
            question = next(
                q for q in get_testbed(task.testbed).questions if q.id == task.question_id
            )
        except (ConfigError, StopIteration):
            findings.append(Finding(
                category=FlawCategory.QUESTION_DRIFT, severity=Severity.MINOR,
                description="the scoped question is not one the testbed declares",
                evidence=f"{task.testbed}/{task.question_id}", location=where_task,
            ))
            return findings
        ran = {r.intervention for r in step.runs if r.run.result is not None}
        wanted = {question.intervention, question.comparison}
        missing = wanted - ran
        if ran and missing:
            arms = ", ".join(a or "baseline" for a in sorted(missing, key=str))
            findings.append(Finding(
                category=FlawCategory.QUESTION_DRIFT, severity=Severity.MAJOR,
                description="the runs do not compare the scoped question's arms",
                evidence=f"{question.id} compares {question.intervention} with "
                f"{question.comparison_text}; missing: {arms}",
                location=where_task,
            ))
        return findings
