"""The agenda: a TOML file naming research topics, the models per role, and budgets.

See `docs/agenda.md` for the format. Loading validates everything before anything is written, and
reports every problem with its file, field and reason.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .models import Budget, ModelsConfig


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunSection(_Frozen):
    """How the run behaves."""

    name: str = Field(default="run", min_length=1, max_length=200)
    """Shown in listings."""
    seed: int = 0
    """Sampling seed; part of every cache key, so a new seed means new samples."""
    on_failure: Literal["continue", "stop"] = "continue"
    """What a step whose model output stayed invalid does: skip what depends on it, or stop."""


class PipelineSection(_Frozen):
    """Sizes of the pipeline's fan-out."""

    ideas_per_topic: int = Field(default=3, ge=1, le=3)
    """Research ideas asked for per topic (the model may return fewer)."""
    idea_framings: int = Field(default=2, ge=1, le=3)
    """Differently framed prompts the ideas are babbled from (their ideas are merged)."""
    proposals: int = Field(default=2, ge=1, le=5)
    """How many of the best-scored ideas are worked into proposals for the judge to choose from."""


class Topic(_Frozen):
    """A broad research topic."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class Agenda(_Frozen):
    """A whole agenda file."""

    run: RunSection = RunSection()
    budget: Budget = Budget()
    models: ModelsConfig = ModelsConfig()
    pipeline: PipelineSection = PipelineSection()
    topics: list[Topic] = Field(min_length=1, max_length=20)

    def digest(self) -> str:
        """sha256 of the normalised agenda, budget excluded: equal agendas resume the same run.

        The budget is left out so that a run stopped by its budget resumes when it is raised.
        """
        canonical = json.dumps(self.model_dump(mode="json", exclude={"budget"}), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    value = error.get("input")
    shown = f" (got {_clipped(value)})" if value is not None and not isinstance(value, dict) else ""
    return f"{error['msg']}{shown}"


def _clipped(value: object, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters so a one-line message stays one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def parse_agenda(data: dict[str, Any], *, source: str = "<agenda>") -> Agenda:
    """Validate a parsed agenda; every problem is reported, one per line."""
    try:
        return Agenda.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        lines = [f"{source}: {_field_path(e['loc'])}: {_reason(e)}" for e in errors]
        raise ConfigError(
            _reason(first) if len(errors) == 1 else "\n".join(lines),
            file=source if len(errors) == 1 else None,
            field=_field_path(first["loc"]) if len(errors) == 1 else None,
        ) from None


def load_agenda(path: str | Path) -> Agenda:
    """Read and validate an agenda file.

    Raises:
        ConfigError: the file is missing, is not valid TOML, or does not match the format.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}", file=str(p)) from None
    return parse_agenda(data, source=str(p))
