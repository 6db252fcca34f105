"""The report's inputs as JSON-lines files: trials, organic detection histories, texts for the
realism check, and papers of model organisms. One JSON object a line; blank lines are skipped.
Formats in `docs/redteam.md`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from .._text import clip
from ..errors import DataError
from ._flaws import ORGANISM_FLAW_TYPES
from ._trial import Trial

M = TypeVar("M", bound=BaseModel)

_TRIAL = TypeAdapter(Trial)
_TRIAL_FIELDS = {f.name for f in dataclasses.fields(Trial)}


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: not JSON ({exc.msg}): {clip(line)}") from exc
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {clip(line)}")
        yield number, obj


def load_trials(path: Path) -> list[Trial]:
    """Read `Trial`s, one JSON object a line, with `Trial`'s field names. A model organism's
    misbehaviour id as `flaw_type` (files written before the mapping) is read as its shared
    type, the id kept as `organism_flaw`.

    Raises:
        DataError: naming the file and line of a line that is not a valid trial.
    """
    trials = []
    for number, obj in _objects(path):
        unknown = sorted(set(obj) - _TRIAL_FIELDS)
        if unknown:
            raise DataError(
                f"{path}:{number}: unknown trial fields {unknown}; a trial has "
                f"{sorted(_TRIAL_FIELDS)}"
            )
        old = obj.get("flaw_type")
        if isinstance(old, str) and old in ORGANISM_FLAW_TYPES:
            # Written before organisms' flaws mapped onto the shared types.
            obj = {**obj, "flaw_type": ORGANISM_FLAW_TYPES[old],
                   "organism_flaw": obj.get("organism_flaw") or old}
        try:
            trials.append(_TRIAL.validate_python(obj))
        except ValidationError as exc:
            raise DataError(f"{path}:{number}: not a valid trial: {_first(exc)}") from exc
    return trials


def load_models(path: Path, model: type[M]) -> list[M]:
    """Read one `model` a line (unknown fields refused).

    Raises:
        DataError: naming the file and line of a line that does not validate.
    """
    out = []
    for number, obj in _objects(path):
        try:
            out.append(model.model_validate(obj))
        except ValidationError as exc:
            raise DataError(
                f"{path}:{number}: not a valid {model.__name__}: {_first(exc)}"
            ) from exc
    return out


def dump_trials(trials: Iterable[Trial], path: Path) -> Path:
    """Write trials as JSON lines (what `load_trials` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for t in trials:
            f.write(json.dumps(dataclasses.asdict(t)) + "\n")
    return path


def dump_models(items: Iterable[BaseModel], path: Path) -> Path:
    """Write pydantic records as JSON lines (what `load_models` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(item.model_dump_json() + "\n")
    return path


def _first(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(x) for x in e["loc"]) or "(line)"
    return f"{where}: {e['msg']}"


__all__ = ["dump_models", "dump_trials", "load_models", "load_trials"]
