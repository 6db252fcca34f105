"""The config of a red-team experiment (`autoalign redteam run CONFIG`), a TOML file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..agenda import Critic2Section, read_toml
from ..errors import ConfigError
from ..models import ModelsConfig
from ._critics import redteam_critic, redteam_critic_ids
from ._flaws import FLAW_TYPES, check_flaw_types

Source = Literal["builtin", "database"]
"""Where clean subjects come from: the built-in ones, or the research database (accepted
papers and `ok` steps with no flaw recorded)."""


class RedteamConfig(BaseModel):
    """A red-team experiment: which critics, which flaw types, how many, from which subjects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """The experiment's name; re-running the same config under it continues the experiment."""
    critics: list[str] = Field(min_length=1)
    """Critic ids to measure (see `autoalign critics list`; `c3.evidence` for corpora)."""
    flaw_types: list[str] | None = None
    """Flaw type ids to inject (`docs/flaws.md`); None: every type."""
    injections_per_type: int = Field(default=3, ge=1, le=100_000)
    """Distinct tampered subjects asked for per flaw type and injector (fewer when the clean
    subjects do not admit that many distinct injections; the summary says how many)."""
    controls: int = Field(default=1, ge=0, le=100_000)
    """Clean controls per kind of subject (step, paper, corpus), each a distinct clean subject."""
    seed: int = 0
    """Seeds every choice (subjects, injections, the model client)."""
    sources: list[Source] = Field(default_factory=lambda: list[Source](["builtin"]),
                                  min_length=1)
    """Where clean subjects come from."""
    injector: Literal["programmatic", "llm", "both"] = "programmatic"
    """Which injectors make the tampered copies."""
    llm_matcher: bool = False
    """Also match findings with the `red-team` model (its agreement with the strict matcher is
    reported)."""
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    """Models for LLM critics, the LLM injector and matcher (default: the embedded model)."""
    critic2: Critic2Section = Field(default_factory=Critic2Section)
    """The `[critic2]` settings `c2.pipeline` reviews with (as in an agenda; default the
    agenda's defaults)."""

    @field_validator("critics")
    @classmethod
    def _critics(cls, value: list[str]) -> list[str]:
        for name in value:
            try:
                redteam_critic(name)
            except ConfigError as exc:
                raise ValueError(f"{exc.reason}; known: {', '.join(redteam_critic_ids())}"
                                 ) from None
        if len(set(value)) != len(value):
            raise ValueError("a critic is named twice")
        return value

    @field_validator("flaw_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return check_flaw_types(value)

    def types(self) -> list[str]:
        """The flaw type ids to inject, in taxonomy order."""
        chosen = set(self.flaw_types) if self.flaw_types is not None else None
        return [t.id for t in FLAW_TYPES if chosen is None or t.id in chosen]

    def digest(self) -> str:
        """sha256 of the normalised config (what a resumed experiment must match). A
        `[critic2]` table equal to the defaults is left out, so a config written before it
        existed keeps its digest."""
        dumped = self.model_dump(mode="json")
        if self.critic2 == Critic2Section():
            dumped.pop("critic2")
        return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()



def parse_config(data: dict[str, Any], *, source: str | None = None) -> RedteamConfig:
    """Validate a config's data.

    Raises:
        ConfigError: the first problem, naming the field (`critics[1]`) and the bad value.
    """
    try:
        return RedteamConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_validation(exc, source=source) from None


def load_config(path: str | Path) -> RedteamConfig:
    """Read and validate a red-team config file.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not match the format.
    """
    return parse_config(read_toml(path), source=str(path))


__all__ = ["RedteamConfig", "Source", "load_config", "parse_config"]
