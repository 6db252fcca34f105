"""Which executed steps critic #1 checks: a configurable rate, higher after failed attempts."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from ._step import ExecutedStep


class CheckRate(BaseModel):
    """How often critic #1 checks an executed step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(default=0.25, ge=0.0, le=1.0)
    """Share of first attempts checked."""
    after_failure: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of later attempts (the step failed before) checked; at least `rate`."""

    def for_attempt(self, attempt: int) -> float:
        """The rate that applies to `attempt` (1 is the first)."""
        return self.rate if attempt <= 1 else max(self.rate, self.after_failure)


def is_selected(step: ExecutedStep, rate: CheckRate, *, salt: str = "") -> bool:
    """Whether to check `step`: a draw that depends only on the step key, attempt and salt.

    Deterministic so a resumed run checks the same steps; `salt` (e.g. the run id) varies the
    choice between runs.
    """
    digest = hashlib.sha256(f"{salt}\0{step.step_key}\0{step.attempt}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return draw < rate.for_attempt(step.attempt)
