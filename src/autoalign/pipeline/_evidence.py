"""What critic #2's programmatic checks compare a paper with: the numbers of its research log
and the research's claims, read from the store."""

from __future__ import annotations

from ..critics import EvidenceClaim, LogNumber
from ..errors import ConfigError, DataError
from ..store import Store, erased_mark
from ..testbeds import get_testbed
from ._schemas import ClaimContent, ProjectLog, StepLog


def _threshold(question: str) -> float | None:
    """The threshold of `testbed/question_id`, or None when the testbed does not declare it."""
    testbed, _, question_id = question.partition("/")
    try:
        questions = get_testbed(testbed).questions
    except ConfigError:
        return None
    return next((q.threshold for q in questions if q.id == question_id), None)


def research_evidence(
    store: Store, log: ProjectLog
) -> tuple[tuple[LogNumber, ...], tuple[EvidenceClaim, ...]]:
    """Every number of the usable steps' logs (with its step log, run, arm, metric and seed)
    and every claim of those steps (with its interval, probability, the question's threshold
    and the fewest seeds over the runs it rests on, counted in the log)."""
    numbers: list[LogNumber] = []
    evidence: list[EvidenceClaim] = []
    for step in log.steps:
        if not step.usable:
            continue
        body = store.artifact(step.log).content_json
        erased = erased_mark(body)
        if erased is not None:  # log erasure (issue 14, part ER)
            raise DataError(
                f"step_log {step.log} was erased at {erased.erased_at} by policy "
                f"{erased.policy}: the paper's numbers cannot be checked against it"
            )
        step_log = StepLog.model_validate(body)
        numbers.extend(
            LogNumber(artifact_id=step.log, run=row.run, arm=row.arm, metric=row.metric,
                      seed=row.seed, value=row.value)
            for row in step_log.rows
        )
        seeds: dict[int, set[int]] = {}
        for row in step_log.rows:
            if row.seed is not None:
                seeds.setdefault(row.run, set()).add(row.seed)
        for claim_id in step.claims:
            claim = ClaimContent.model_validate(store.artifact(claim_id).content_json)
            counted = [len(seeds.get(run, set())) for run in claim.runs]
            evidence.append(EvidenceClaim(
                artifact_id=claim_id, question=claim.question, text=claim.text,
                treated_arm=claim.treated_arm, estimate=claim.effect, ci_low=claim.ci_low,
                ci_high=claim.ci_high, probability=claim.probability,
                threshold=_threshold(claim.question), seeds=min(counted) if counted else None,
            ))
    return tuple(numbers), tuple(evidence)
