"""`ExecutedStep`: everything critic #1 checks about one executed step, as the store holds it.

The execution stage fills it from its artifacts: the scoped task, the worker's code or the
experiment specs, the sandbox run records, the research log's table of numbers, the
interpretation and the claims. Critics compare these with each other, and trust the sandbox
records over anything the agent wrote.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import DataError
from ..sandbox import SandboxRun
from ..store import Store, erased_mark
from ..vocabulary import Kind


class ScopedTask(BaseModel):
    """The task the step was scoped to do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The task's artifact."""
    objective: str
    """What the step should find out, as scoped."""
    testbed: str | None = None
    """The testbed the step should run on, if it is an experiment on one."""
    question_id: str | None = None
    """The testbed question the step should answer, if any."""


class WorkerCode(BaseModel):
    """Python source the worker wrote and ran in the sandbox."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The artifact holding the code."""
    source: str
    """The code as it was run."""


class StepRun(BaseModel):
    """One sandbox run of the step, as the sandbox recorded it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The `sandbox_run` artifact."""
    arm: str
    """The arm or condition it ran (e.g. the intervention's name, or `baseline`)."""
    run: SandboxRun
    """The sandbox's own record (exit status, what killed it, the result)."""

    def values(self) -> Iterator[tuple[str, int | None, float]]:
        """Every number the run returned: (metric, seed, value), the seed None for the mean."""
        result = self.run.result
        if result is None:
            return
        seeds: Sequence[int] = result.get("spec", {}).get("seeds", [])
        for seed, row in zip(seeds, result.get("per_seed", []), strict=False):
            for metric, value in row.items():
                yield metric, seed, float(value)
        for metric, value in result.get("mean", {}).items():
            yield metric, None, float(value)

    @property
    def seeds(self) -> list[int]:
        """The seeds the run's result covers (none without a result)."""
        if self.run.result is None:
            return []
        return list(self.run.result.get("spec", {}).get("seeds", []))

    @property
    def testbed(self) -> str | None:
        """The testbed the run's result is from, if it has one."""
        if self.run.result is None:
            return None
        name = self.run.result.get("spec", {}).get("testbed")
        return name if isinstance(name, str) else None

    @property
    def intervention(self) -> str | None:
        """The intervention the run's result applied (None for the baseline or no result)."""
        if self.run.result is None:
            return None
        name = self.run.result.get("spec", {}).get("intervention")
        return name if isinstance(name, str) else None


class LogRow(BaseModel):
    """One number in the research log's table, as the worker logged it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    """The metric's name."""
    arm: str
    """The arm or condition (a `StepRun.arm`)."""
    seed: int | None
    """The seed, or None for the mean over the arm's seeds."""
    value: float
    """The value logged."""


class ResearchLog(BaseModel):
    """The step's research log: the structured table of numbers, and its prose."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The log's artifact."""
    rows: list[LogRow] = Field(default_factory=list)
    """The numbers, each as the sandbox returned it."""
    text: str = ""
    """The log's prose."""


class Interpretation(BaseModel):
    """What the worker concluded from the results."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The interpretation's artifact."""
    text: str
    """The interpretation as written."""


class StepClaim(BaseModel):
    """A claim the step made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The artifact the claim belongs to."""
    text: str
    """The claim as stated."""
    testbed: str | None = None
    """The testbed whose question it answers, if any."""
    question_id: str | None = None
    """The question it answers, if any."""
    estimate: float | None = None
    """The effect estimate."""
    ci_low: float | None = None
    """Lower end of its interval, or None without one."""
    ci_high: float | None = None
    """Upper end of its interval, or None without one."""
    n_seeds: int | None = None
    """Seeds behind it, as the agent states it (critics count the runs' seeds themselves)."""
    probability: float | None = None
    """P(yes) as the agent states it."""
    run_ids: list[int] = Field(default_factory=list)
    """The `sandbox_run` artifacts it rests on (its provenance)."""

    @property
    def has_interval(self) -> bool:
        """Both ends given, finite, and in order."""
        low, high = self.ci_low, self.ci_high
        return (
            low is not None and high is not None and math.isfinite(low) and math.isfinite(high)
            and low <= high
        )


class ExecutedStep(BaseModel):
    """One executed step of the execution stage: what critic #1 checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_key: str
    """The step's key in its run."""
    attempt: int = Field(default=1, ge=1)
    """Which attempt at the step this is (later attempts are checked more often)."""
    task: ScopedTask
    """The task as scoped."""
    code: WorkerCode | None = None
    """The worker's code, if it wrote code rather than specs."""
    runs: list[StepRun] = Field(default_factory=list)
    """Every sandbox run of the step, failed ones included."""
    log: ResearchLog
    """The research log."""
    interpretation: Interpretation | None = None
    """The interpretation, if one was written."""
    claims: list[StepClaim] = Field(default_factory=list)
    """The claims made."""

    def run(self, artifact_id: int) -> StepRun | None:
        """The step's run stored as `artifact_id`, if it is one of this step's."""
        return next((r for r in self.runs if r.artifact_id == artifact_id), None)


def load_step_runs(store: Store, arms: Sequence[tuple[int, str]]) -> list[StepRun]:
    """The sandbox runs stored as artifacts, each with its arm: `[(artifact_id, arm), ...]`.

    Raises:
        DataError: an artifact does not exist or is not a `sandbox_run`.
    """
    runs = []
    for artifact_id, arm in arms:
        art = store.artifact(artifact_id)
        if art.kind != Kind.SANDBOX_RUN:
            raise DataError(f"artifact {artifact_id} is a {art.kind}, not a {Kind.SANDBOX_RUN}")
        body: Any = art.content_json
        erased = erased_mark(body)
        if erased is not None:  # log erasure (issue 14, part ER)
            raise DataError(
                f"sandbox_run {artifact_id} was erased at {erased.erased_at} by policy "
                f"{erased.policy}: its record is gone (only a summary is kept), so it cannot "
                "be checked"
            )
        runs.append(StepRun(artifact_id=artifact_id, arm=arm, run=SandboxRun.model_validate(body)))
    return runs
