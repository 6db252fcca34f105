"""The config of a learning curve (`autoalign learn curve CONFIG`), a TOML file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..agenda import read_toml
from ..errors import ConfigError
from ..models import ModelsConfig
from ..redteam import check_flaw_types, flaw_type, redteam_critic, redteam_critic_ids
from ._knn import DEFAULT_THRESHOLD

KNN = "knn"
"""The name a config gives the nearest-neighbour learner in its `critics` list."""

LEARNERS = (KNN,)
"""Critic names that learn during a curve (the rest are the red team's critics, frozen)."""


class KnnSection(BaseModel):
    """The `[knn]` table: the nearest-neighbour learner's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0.0, le=1.0)
    """TF-IDF cosine at or above which a sentence counts as a neighbour of a labelled flaw."""


class CurveConfig(BaseModel):
    """A learning curve: rounds of new work, a new flaw type from round `t0` on, labels known
    `label_delay` rounds after their round, and the critics judged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    """The curve's name; round `k` is stored as the red-team experiment `<name>.r<k>`, and
    re-running the same config continues the curve."""
    rounds: int = Field(ge=1, le=1000)
    """Rounds T (numbered 0 to T-1)."""
    new_flaw_type: str
    """The flaw type that starts appearing at round `t0` (`docs/flaws.md`)."""
    t0: int = Field(ge=0)
    """The first round with the new flaw type."""
    old_flaw_types: list[str] = Field(default_factory=list)
    """Flaw types injected in every round (what the critics already face)."""
    per_type: int = Field(default=4, ge=1, le=10_000)
    """Distinct tampered subjects asked for per flaw type per round (fewer when the clean
    subjects admit fewer new ones: a round never repeats an injection an earlier round made)."""
    controls: int = Field(default=1, ge=0, le=10_000)
    """Clean controls per kind of subject (step, paper, corpus) per round."""
    label_delay: int = Field(default=1, ge=1)
    """Rounds after its own round at which a round's labels become known to the learners."""
    critics: list[str] = Field(min_length=1)
    """Red-team critic ids (`autoalign critics list`), and `knn` for the learner."""
    level: float = Field(default=0.5, gt=0.0, lt=1.0)
    """A critic self-corrects at the first round from `t0` on where the lower end of its
    recall interval on the new type exceeds this."""
    seed: int = 0
    """Seeds every choice of subjects and injections (and the model client)."""
    knn: KnnSection = Field(default_factory=KnnSection)
    """The learner's settings."""
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    """Models for LLM critics (default: the embedded model)."""

    @field_validator("critics")
    @classmethod
    def _critics(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in LEARNERS:
                continue
            try:
                redteam_critic(name)
            except ConfigError as exc:
                raise ValueError(f"{exc.reason}; known: {', '.join(redteam_critic_ids())}, "
                                 f"{', '.join(LEARNERS)}") from None
        if len(set(value)) != len(value):
            raise ValueError("a critic is named twice")
        return value

    @field_validator("new_flaw_type")
    @classmethod
    def _new(cls, value: str) -> str:
        try:
            flaw_type(value)
        except ConfigError as exc:
            raise ValueError(exc.reason) from None
        return value

    @field_validator("old_flaw_types")
    @classmethod
    def _old(cls, value: list[str]) -> list[str]:
        check_flaw_types(value)
        return value

    @model_validator(mode="after")
    def _rounds(self) -> CurveConfig:
        if self.t0 >= self.rounds:
            raise ValueError(f"t0 ({self.t0}) must be a round before the last ({self.rounds - 1})")
        if self.new_flaw_type in self.old_flaw_types:
            raise ValueError(f"the new flaw type {self.new_flaw_type!r} is also an old one")
        return self

    def types(self, round: int) -> list[str]:
        """The flaw types injected in `round`: the old ones, and the new one from `t0` on."""
        return [*self.old_flaw_types, *([self.new_flaw_type] if round >= self.t0 else [])]

    def round_name(self, round: int) -> str:
        """The red-team experiment that stores `round`."""
        return f"{self.name}.r{round}"

    def learner_id(self, name: str) -> str:
        """The critic id a learner's versions and trials are recorded under: scoped to this
        curve, so two curves in one database never share a learner's versions."""
        return f"{name}.{self.name}"

    def digest(self) -> str:
        """sha256 of the normalised config (what a resumed curve must match)."""
        return hashlib.sha256(
            json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()



def parse_curve_config(data: dict[str, Any], *, source: str | None = None) -> CurveConfig:
    """Validate a curve config's data.

    Raises:
        ConfigError: the first problem, naming the field (`critics[1]`) and the bad value.
    """
    try:
        return CurveConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_validation(exc, source=source) from None


def load_curve_config(path: str | Path) -> CurveConfig:
    """Read and validate a curve config file.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not match the format.
    """
    return parse_curve_config(read_toml(path), source=str(path))


__all__ = [
    "KNN",
    "LEARNERS",
    "CurveConfig",
    "KnnSection",
    "load_curve_config",
    "parse_curve_config",
]
