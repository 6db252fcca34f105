"""Answer testbed research questions by experiment and record calibrated-looking claims.

A study runs both arms of a question (treated and comparison, paired seeds) as experiment specs
in the sandbox, estimates the effect with its standard error, and records a claim with the
estimate, a 95% interval, and the probability that the question's answer is yes. That
probability is the normal approximation to the estimate's sampling distribution under a flat
prior, P(effect ⋛ threshold | data) = Φ(±(estimate - threshold) / SE): exactly the kind of
number a careful researcher would report after a small experiment, and the kind whose
calibration `autoalign calibration` measures against the testbeds' ground truth. With few seeds
the normal approximation is overconfident, which calibration should show.

This is the experiment path of the execution stage without a model in the loop; the full
pipeline (a later issue) lets workers choose the specs. Its records are stored in stage `STAGE`,
the stage whose work it does.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from ..errors import DataError
from ..sandbox import Backend, Job, Limits, SandboxRun
from ..store import Store
from ..testbeds import ExperimentSpec, Question, estimate_effect, get_testbed
from ..vocabulary import ClaimSource, Kind, RunStatus, Stage
from ._records import record_sandbox_run

STAGE = Stage.EXECUTE
"""The stage a study's artifacts are stored in: it does the execute stage's work."""
_NORMAL = NormalDist()
Z95 = _NORMAL.inv_cdf(0.975)
P_FLOOR = 1e-4
"""Probabilities are kept in [P_FLOOR, 1 - P_FLOOR]: a finite sample never justifies certainty,
and log loss is infinite at 0 and 1."""


@dataclass(frozen=True, kw_only=True)
class StudyResult:
    """The claim one study made about one question."""

    testbed: str
    question_id: str
    n_seeds: int
    effect: float
    se: float
    ci_low: float
    ci_high: float
    probability: float
    """Probability the question's answer is yes, given the experiment."""
    claim_id: int
    artifact_id: int
    """The `experiment_claim` artifact, linked to both arms' sandbox runs."""


def probability_yes(question: Question, effect: float, se: float) -> float:
    """P(the question's claim holds | estimate, SE) under a normal approximation, clipped."""
    if se <= 0 or not math.isfinite(se):
        p = 1.0 if question.holds(effect) else 0.0
    else:
        z = (effect - question.threshold) / se
        p = _NORMAL.cdf(z if question.direction == "at_least" else -z)
    return min(max(p, P_FLOOR), 1.0 - P_FLOOR)


def _specs(name: str, question: Question, seeds: Sequence[int]) -> tuple[ExperimentSpec, ...]:
    config = dict(question.config)
    return tuple(
        ExperimentSpec(testbed=name, config=config, intervention=arm, seeds=list(seeds))
        for arm in (question.intervention, question.comparison)
    )


def study_questions(
    store: Store,
    *,
    run_id: int,
    testbed: str,
    seeds: Sequence[int],
    backend: Backend,
    limits: Limits,
    questions: Sequence[str] | None = None,
    on_done: Callable[[StudyResult], None] | None = None,
) -> list[StudyResult]:
    """Study every question of `testbed` (or those named) and record one claim each.

    Both arms of every question run as sandboxed spec jobs through `backend`, all submitted at
    once so the backend's pool is kept busy. A question already studied in this run (same step
    key) is not run again.

    Raises:
        ConfigError: unknown testbed or question.
        DataError: a sandboxed arm failed (its record is stored first, with its stderr).
    """
    bed = get_testbed(testbed)
    chosen = [q for q in bed.questions if questions is None or q.id in questions]
    if questions is not None and len(chosen) != len(set(questions)):
        known = ", ".join(q.id for q in bed.questions)
        raise DataError(f"unknown question in {list(questions)} for {testbed}; known: {known}")
    results: list[StudyResult] = []
    pending = []
    for q in chosen:
        key = f"study/{testbed}/{q.id}/n{len(seeds)}"
        existing = store.artifact_by_step(run_id, key)
        if existing is not None:
            results.append(_result_from_artifact(store, existing.id))
            continue
        jobs = [
            backend.submit(Job(kind="spec", payload=s.model_dump_json(), limits=limits))
            for s in _specs(testbed, q, seeds)
        ]
        pending.append((q, key, jobs))
    for q, key, jobs in pending:
        arms = [job.result() for job in jobs]
        result = _record(store, run_id=run_id, testbed=testbed, question=q, key=key, arms=arms)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results


def _record(
    store: Store,
    *,
    run_id: int,
    testbed: str,
    question: Question,
    key: str,
    arms: list[SandboxRun],
) -> StudyResult:
    runs = [
        record_sandbox_run(
            store, run_id=run_id, sandbox_run=arm, stage=STAGE, step_key=f"{key}/arm{i}"
        )
        for i, arm in enumerate(arms)
    ]
    per_seed: list[list[dict[str, float]]] = []
    for arm, stored in zip(arms, runs, strict=True):
        if arm.result is None:
            raise DataError(
                f"{testbed}/{question.id}: a sandboxed arm produced no result "
                f"({arm.killed_by or f'exit {arm.exit_code}'}); see artifact {stored.id}: "
                f"{arm.stderr[-300:]}"
            )
        per_seed.append(arm.result["per_seed"])
    treated = [row[question.metric] for row in per_seed[0]]
    comparison = [row[question.metric] for row in per_seed[1]]
    effect, se = estimate_effect(question.effect_kind, treated, comparison)
    low, high = effect - Z95 * se, effect + Z95 * se
    p = probability_yes(question, effect, se)
    text = (
        f"{question.text}\nEstimate ({question.effect_kind} in {question.metric}, "
        f"{question.intervention} vs {question.comparison_text}, n={len(treated)} paired seeds): "
        f"{effect:+.4f} (95% CI {low:+.4f} to {high:+.4f}); threshold {question.threshold:+g} "
        f"({question.direction.replace('_', ' ')}).\nP(yes) = {p:.4f}"
    )
    artifact = store.add_artifact(
        run_id=run_id,
        kind=Kind.EXPERIMENT_CLAIM,
        stage=STAGE,
        step_key=key,
        title=f"{testbed}/{question.id}",
        content_text=text,
        content_json={
            "testbed": testbed,
            "question_id": question.id,
            "n_seeds": len(treated),
            "effect": effect,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "probability": p,
        },
        parents=[r.id for r in runs],
    )
    claims = store.add_claims(
        artifact_id=artifact.id,
        items=[
            {
                "text": question.text,
                "effect": effect,
                "ci_low": low,
                "ci_high": high,
                "probability": p,
                "testbed": testbed,
                "question_id": question.id,
            }
        ],
        source=ClaimSource.STUDY,
    )
    return StudyResult(
        testbed=testbed, question_id=question.id, n_seeds=len(treated), effect=effect, se=se,
        ci_low=low, ci_high=high, probability=p, claim_id=claims[0].id, artifact_id=artifact.id,
    )


def _result_from_artifact(store: Store, artifact_id: int) -> StudyResult:
    art = store.artifact(artifact_id)
    body = art.content_json
    claim = store.claims(artifact_id=artifact_id)[0]
    return StudyResult(
        testbed=body["testbed"], question_id=body["question_id"], n_seeds=body["n_seeds"],
        effect=body["effect"], se=body["se"], ci_low=body["ci_low"], ci_high=body["ci_high"],
        probability=body["probability"], claim_id=claim.id, artifact_id=artifact_id,
    )


@dataclass(frozen=True, kw_only=True)
class StudyRun:
    """A study of several testbeds' questions, stored as one run."""

    run_id: int
    resumed: bool
    results: list[StudyResult]


def run_study(
    store: Store,
    *,
    testbeds: Sequence[str],
    seeds: int,
    first_seed: int = 0,
    backend: Backend,
    limits: Limits,
    on_done: Callable[[StudyResult], None] | None = None,
) -> StudyRun:
    """Study every question of `testbeds` with `seeds` paired seeds per arm, as one run.

    The same study (testbeds, seeds, first seed) resumes its unfinished run: questions already
    answered are kept. A completed study is returned as it is.
    """
    if seeds < 2:
        raise DataError(f"a study needs at least 2 seeds per arm for a standard error, got {seeds}")
    names = sorted(set(testbeds))
    for name in names:
        get_testbed(name)  # unknown names fail before anything is written
    config = {"study": names, "seeds": seeds, "first_seed": first_seed}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    start = store.start_run(
        name="study " + ",".join(names), agenda_digest=digest, config=config
    )
    run, resumed = start.run, start.outcome != "created"
    seed_list = list(range(first_seed, first_seed + seeds))
    results: list[StudyResult] = []
    try:
        for name in names:
            results += study_questions(
                store, run_id=run.id, testbed=name, seeds=seed_list, backend=backend,
                limits=limits, on_done=on_done,
            )
    except KeyboardInterrupt:
        store.set_run_status(run.id, RunStatus.STOPPED, reason="interrupted; run again to resume")
        raise
    except Exception as exc:
        store.set_run_status(run.id, RunStatus.FAILED, reason=f"{type(exc).__name__}: {exc}")
        raise
    if start.outcome != "completed":  # a completed study was only read back
        store.set_run_status(run.id, RunStatus.COMPLETED)
    return StudyRun(run_id=run.id, resumed=resumed, results=results)
