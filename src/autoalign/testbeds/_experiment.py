"""Experiment specs (what a worker asks to run), their results, and `run_spec`."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ._base import KnobValue
from ._registry import get_testbed


class ExperimentSpec(BaseModel):
    """One experiment: a testbed, knob settings, at most one intervention, and the seeds to run.

    Pydantic checks the shape (types, 1-200 non-negative seeds, no extra keys);
    `validate_against_registry` checks the content against the testbed's declarations. `run_spec`
    calls it first, so a spec that reaches a testbed is always valid.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    testbed: str = Field(max_length=64)
    """Registry name of the testbed."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Knob settings; unset knobs take their defaults."""
    intervention: str | None = Field(default=None, max_length=64)
    """The intervention to apply, or None for the baseline."""
    seeds: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, max_length=200)
    """The seeds to run, one run each (1 to 200 of them)."""

    def validate_against_registry(self) -> dict[str, KnobValue]:
        """Check the spec against the registry and return the full config (defaults filled in).

        Raises:
            ConfigError: unknown testbed (field `testbed`), a key that is not a knob or a value of
                the wrong type or out of range (field `config.<knob>`), or an unknown
                intervention (field `intervention`); the reason names the allowed values.
        """
        testbed = get_testbed(self.testbed)
        resolved = testbed.resolve_config(self.config)
        testbed.check_intervention(self.intervention)
        return resolved


class ExperimentResult(BaseModel):
    """What `run_spec` measured: every seed's metrics and their mean and standard error."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    spec: ExperimentSpec
    """The spec that was run."""
    testbed_version: str
    """The testbed's version at the time of the run."""
    resolved_config: dict[str, KnobValue]
    """Every knob's value in the run (the spec's config over the defaults)."""
    per_seed: list[dict[str, float]]
    """Metrics of each run, in the order of `spec.seeds`."""
    mean: dict[str, float]
    """Mean of each metric over seeds."""
    se: dict[str, float]
    """Standard error of each mean: sample standard deviation (n - 1) / sqrt(n); NaN for one
    seed."""
    seconds: float
    """Wall time of all runs."""


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample sd with n - 1, over sqrt(n)); the SE is NaN for n = 1."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, math.nan
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def run_spec(spec: ExperimentSpec) -> ExperimentResult:
    """Run every seed of `spec` in this process, one after another.

    Raises:
        ConfigError: the spec does not match the registry (see `validate_against_registry`).
    """
    resolved = spec.validate_against_registry()
    testbed = get_testbed(spec.testbed)
    started = time.perf_counter()
    per_seed = [
        testbed.run(resolved, intervention=spec.intervention, seed=seed) for seed in spec.seeds
    ]
    seconds = time.perf_counter() - started
    mean: dict[str, float] = {}
    se: dict[str, float] = {}
    for metric in testbed.metrics:
        mean[metric.name], se[metric.name] = mean_and_se([r[metric.name] for r in per_seed])
    return ExperimentResult(
        spec=spec,
        testbed_version=testbed.version,
        resolved_config=resolved,
        per_seed=per_seed,
        mean=mean,
        se=se,
        seconds=seconds,
    )
