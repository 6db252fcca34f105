"""The config of an A/B test of components (`autoalign ab run CONFIG`), a TOML file.

It names the experiment, the tasks (red-team subjects: clean controls and tampered copies with
known flaws, as `redteam run` makes them) and two arms, each a critic variant: a red-team
critic id, its `[critic2]` settings, the view it is shown the subject through, and optionally
its own `[models]`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..agenda import Critic2Section, read_toml
from ..errors import ConfigError
from ..models import ModelsConfig
from ..redteam import (
    FLAW_TYPES,
    RedteamConfig,
    check_flaw_types,
    flaw_type,
    redteam_critic,
    redteam_critic_ids,
)
from ..redteam._config import Source
from ._ab_views import FULL, view


class ArmConfig(BaseModel):
    """One arm: the component variant run on every task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    critic: str
    """A red-team critic id (`autoalign critics list`, `c2.pipeline`, `c3.evidence`, ...)."""
    view: str = FULL
    """How the subject is shown to the critic (a registered view; `full`: as it is)."""
    critic2: Critic2Section = Field(default_factory=Critic2Section)
    """The `[critic2]` settings `c2.pipeline` reviews with in this arm."""
    models: ModelsConfig | None = None
    """This arm's models (default: the experiment's `[models]`), so arms can differ only in
    model or sampling settings."""

    @field_validator("critic")
    @classmethod
    def _critic(cls, value: str) -> str:
        try:
            redteam_critic(value)
        except ConfigError as exc:
            first = exc.reason.split("; known:")[0]
            raise ValueError(f"{first}; known: {', '.join(redteam_critic_ids())}") from None
        return value

    @field_validator("view")
    @classmethod
    def _view(cls, value: str) -> str:
        try:
            view(value)
        except ConfigError as exc:
            raise ValueError(exc.reason) from None
        return value


class AbConfig(BaseModel):
    """An A/B test: which tasks, which two arms, and whether it may stop early."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """The experiment's name; re-running the same config under it resumes the experiment."""
    seed: int = 0
    """Seeds every choice (tasks, their order, the order of the arms on each task)."""
    a: ArmConfig
    """Arm A (the baseline)."""
    b: ArmConfig
    """Arm B (the variant)."""
    flaw_types: list[str] | None = None
    """Flaw types to inject (`docs/flaws.md`); None: every type the arms' critics check."""
    injections_per_type: int = Field(default=3, ge=1, le=100_000)
    """Distinct tampered subjects asked for per flaw type."""
    controls: int = Field(default=1, ge=0, le=100_000)
    """Clean controls (distinct clean subjects of the arms' kind)."""
    sources: list[Source] = Field(default_factory=lambda: list[Source](["builtin"]),
                                  min_length=1)
    """Where clean subjects come from: built in and/or the research database."""
    sequential: bool = False
    """Check the mixture SPRT after each task and stop once it rejects (see docs)."""
    alpha: float = Field(default=0.05, gt=0.0, le=0.5)
    """The sequential test's type-I error."""
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    """Models for LLM critics (default: the embedded model); an arm's `[models]` overrides."""

    @field_validator("flaw_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return check_flaw_types(value)

    @property
    def where(self) -> str:
        """The kind of subject both arms check (`execution`, `paper` or `corpus`)."""
        return redteam_critic(self.a.critic).where

    def types(self) -> list[str]:
        """The flaw types injected, in taxonomy order."""
        chosen = set(self.flaw_types) if self.flaw_types is not None else None
        return [t.id for t in FLAW_TYPES if t.where == self.where
                and (chosen is None or t.id in chosen)]

    def arm(self, name: str) -> ArmConfig:
        """Arm `A` or `B`."""
        return self.a if name == "A" else self.b

    def arm_models(self, name: str) -> ModelsConfig:
        """The models arm `A` or `B` uses."""
        return self.arm(name).models or self.models

    def redteam(self) -> RedteamConfig:
        """The red-team config whose clean subjects the tasks are made from."""
        return RedteamConfig(name=self.name, critics=[self.a.critic], seed=self.seed,
                             sources=self.sources, flaw_types=self.types() or None,
                             injections_per_type=self.injections_per_type,
                             controls=self.controls)

    def digest(self) -> str:
        """sha256 of the normalised config (what a resumed experiment must match)."""
        dumped = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()


def parse_ab_config(data: dict[str, Any], *, source: str | None = None) -> AbConfig:
    """Validate an A/B config's data.

    Raises:
        ConfigError: the first problem, naming the file, the field (`b.critic`) and why.
    """
    try:
        config = AbConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_validation(exc, source=source) from None
    where_a, where_b = redteam_critic(config.a.critic).where, redteam_critic(config.b.critic).where
    if where_a != where_b:
        raise ConfigError(f"arm a's critic checks {where_a} subjects and arm b's {where_b}; both "
                          "arms must check the same kind of task", file=source, field="b.critic")
    for i, name in enumerate(config.flaw_types or []):
        if flaw_type(name).where != where_a:
            raise ConfigError(f"flaw type {name} is not a flaw of {where_a} subjects, which the "
                              "arms' critics check", file=source, field=f"flaw_types[{i}]")
    return config


def load_ab_config(path: str | Path) -> AbConfig:
    """Read and validate an A/B config file.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not match the format.
    """
    return parse_ab_config(read_toml(path), source=str(path))


__all__ = ["AbConfig", "ArmConfig", "load_ab_config", "parse_ab_config"]
