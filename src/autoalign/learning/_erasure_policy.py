"""An erasure policy: which artifact kinds are detailed logs, how much of them to keep, and the
weights of the score that orders what goes first (`docs/learning.md`, "Progressive log
erasure"). A TOML file; loading reports the file, the field and the reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..agenda import read_toml
from ..errors import ConfigError
from ..vocabulary import Kind

ERASABLE_KINDS: tuple[Kind, ...] = (
    Kind.SANDBOX_RUN, Kind.WORKER_CODE, Kind.STEP_LOG, Kind.EXPERIMENT_PLAN,
    Kind.FLAW_CANDIDATES,
)
"""The kinds a policy may name: the bulky, detailed records of how a result was produced,
each with a summary of its own (`_erasure_summary`). Everything else is never erased: papers and
their sections, claims, critics' reports and decisions are what the database is for, and the
research log is what a paper is written and re-reviewed from."""

DEFAULT_KINDS: tuple[Kind, ...] = ERASABLE_KINDS
"""What a policy erases when it names no kinds."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ErasureBudget(_Frozen):
    """How much to erase in one application: until the detailed-log bytes left are at most
    `max_bytes_left` and at most `max_fraction_left` of their original size, and at most
    `max_count` artifacts. At least one must be given."""

    max_bytes_left: int | None = Field(default=None, ge=0)
    """Erase until the detailed logs (the policy's kinds) take at most this many bytes."""
    max_fraction_left: float | None = Field(default=None, ge=0.0, le=1.0)
    """Erase until they take at most this fraction of their original size (erased artifacts
    count at their size before erasure, so the target does not move between applications)."""
    max_count: int | None = Field(default=None, ge=1)
    """Erase at most this many artifacts in one application."""

    @model_validator(mode="after")
    def _one_given(self) -> ErasureBudget:
        if self.max_bytes_left is None and self.max_fraction_left is None \
                and self.max_count is None:
            raise ValueError("give at least one of max_bytes_left, max_fraction_left, max_count")
        return self


class ErasureWeights(_Frozen):
    """Weights of the score's three terms (each term lies in [0, 1); the score is
    `age * a - importance * i - controversy * c`, higher erased first)."""

    age: float = Field(default=1.0, ge=0.0)
    """Older first."""
    importance: float = Field(default=1.0, ge=0.0)
    """Less important (fewer descendants, fewer accepted papers downstream) first."""
    controversy: float = Field(default=2.0, ge=0.0)
    """Less controversial (fewer flaws and reviews on it or downstream, less judge
    disagreement) first."""
    age_scale_days: float = Field(default=30.0, gt=0.0)
    """The age term is `days / (days + age_scale_days)`: one half at this age."""
    importance_scale: float = Field(default=10.0, gt=0.0)
    """The importance term is `I / (I + importance_scale)`, `I` = descendants +
    `accepted_paper_weight` x accepted papers downstream."""
    accepted_paper_weight: float = Field(default=10.0, ge=0.0)
    """How many descendants an accepted paper downstream counts as."""


class ErasurePolicy(_Frozen):
    """An erasure policy (`autoalign learn erase POLICY`)."""

    name: str = Field(min_length=1, max_length=200)
    """Recorded with every erasure and refusal."""
    kinds: tuple[Kind, ...] = DEFAULT_KINDS
    """The detailed-log kinds eligible for erasure (a subset of `ERASABLE_KINDS`)."""
    budget: ErasureBudget
    """How much to erase."""
    weights: ErasureWeights = ErasureWeights()
    """The score's weights."""
    batch_size: int = Field(default=50, ge=1, le=10_000)
    """Erasures per transaction."""

    @field_validator("kinds")
    @classmethod
    def _erasable(cls, kinds: tuple[Kind, ...]) -> tuple[Kind, ...]:
        bad = [k for k in kinds if k not in ERASABLE_KINDS]
        if bad:
            raise ValueError(
                f"{', '.join(bad)} may not be erased; erasable kinds: "
                + ", ".join(ERASABLE_KINDS)
            )
        if not kinds:
            raise ValueError("name at least one kind")
        return tuple(dict.fromkeys(kinds))

    @property
    def digest(self) -> str:
        """sha256 of the policy's normalised settings (recorded with each erasure)."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_policy(data: dict[str, Any], *, source: str = "<policy>") -> ErasurePolicy:
    """Validate a parsed policy.

    Raises:
        ConfigError: the first problem, naming the file, the field and the reason.
    """
    try:
        return ErasurePolicy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            reason = "unknown field; remove it or check its spelling"
        raise ConfigError(reason, file=source, field=_field(tuple(first["loc"]))) from None


def load_policy(path: str | Path) -> ErasurePolicy:
    """Read and validate a policy file.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not match the format.
    """
    return parse_policy(read_toml(path), source=str(path))


__all__ = [
    "DEFAULT_KINDS",
    "ERASABLE_KINDS",
    "ErasureBudget",
    "ErasurePolicy",
    "ErasureWeights",
    "load_policy",
    "parse_policy",
]
