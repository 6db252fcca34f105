"""The testbed registry: one decorator that validates a testbed class, and lookups by name."""

from __future__ import annotations

import inspect
import math
from typing import TypeVar

from ..errors import ConfigError
from ._base import Intervention, Metric, Testbed, _check_name

_TESTBEDS: dict[str, Testbed] = {}

T = TypeVar("T", bound=type[Testbed])


def register_testbed(cls: T) -> T:
    """Class decorator: validate a `Testbed` subclass and register one instance under its name.

    Checks that the class is concrete; that name, version, description and analogy are set; that
    knob, intervention, metric and question names are well formed and unique; that every question
    names a declared intervention, comparison and metric, has a finite threshold, and sets only
    declared knobs to valid values. Registering another class under a taken name is an error;
    re-registering the same class (a module reload) replaces it.

    Raises:
        ConfigError: the declaration is invalid; the message says which attribute and why.
    """
    if not (isinstance(cls, type) and issubclass(cls, Testbed)):
        raise ConfigError(f"@register_testbed needs a Testbed subclass, got {cls!r}")
    where = cls.__qualname__
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise ConfigError(f"testbed {where} does not implement {missing}")
    for attr in ("name", "version", "description", "analogy"):
        value = getattr(cls, attr, None)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"testbed {where} needs a non-empty string {attr!r}, got {value!r}")
    _check_name(cls.name, f"testbed {where}'s name")
    for attr in ("knobs", "interventions", "metrics", "questions"):
        if not isinstance(getattr(cls, attr, None), tuple):
            raise ConfigError(f"testbed {where} needs a tuple {attr!r}")
    if not cls.metrics:
        raise ConfigError(f"testbed {where} declares no metrics")
    for attr in ("knobs", "interventions", "metrics"):
        names = [item.name for item in getattr(cls, attr)]
        for name in names:
            _check_name(name, f"testbed {where}'s {attr} entry")
        _unique(names, f"testbed {where}'s {attr}")
    for item in (*cls.interventions, *cls.metrics):
        if not isinstance(item, Intervention | Metric):
            raise ConfigError(f"testbed {where}: {item!r} is not an Intervention or Metric")
        if not item.doc.strip():
            raise ConfigError(f"testbed {where}: {item.name!r} needs a doc string")
    _check_questions(cls)
    existing = _TESTBEDS.get(cls.name)
    if existing is not None and (
        type(existing).__qualname__ != cls.__qualname__
        or type(existing).__module__ != cls.__module__
    ):
        raise ConfigError(
            f"testbed name {cls.name!r} is already registered by {type(existing).__qualname__}"
        )
    _TESTBEDS[cls.name] = cls()
    return cls


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{what} has {name!r} twice")
        seen.add(name)


def _check_questions(cls: type[Testbed]) -> None:
    where = cls.__qualname__
    interventions = {i.name for i in cls.interventions}
    metrics = {m.name for m in cls.metrics}
    _unique([q.id for q in cls.questions], f"testbed {where}'s question ids")
    probe = cls()
    for q in cls.questions:
        _check_name(q.id, f"testbed {where}'s question id")
        at = f"testbed {where}, question {q.id!r}"
        if not q.text.strip():
            raise ConfigError(f"{at}: needs a text")
        if q.intervention not in interventions:
            raise ConfigError(f"{at}: unknown intervention {q.intervention!r}")
        if q.comparison is not None and q.comparison not in interventions:
            raise ConfigError(f"{at}: unknown comparison intervention {q.comparison!r}")
        if q.comparison == q.intervention:
            raise ConfigError(f"{at}: compares {q.intervention!r} with itself")
        if q.metric not in metrics:
            raise ConfigError(f"{at}: unknown metric {q.metric!r}")
        if q.effect_kind not in ("difference", "relative_change"):
            raise ConfigError(f"{at}: unknown effect kind {q.effect_kind!r}")
        if q.direction not in ("at_least", "at_most"):
            raise ConfigError(f"{at}: unknown direction {q.direction!r}")
        if not isinstance(q.threshold, int | float) or not math.isfinite(q.threshold):
            raise ConfigError(f"{at}: threshold must be a finite number, got {q.threshold!r}")
        try:
            probe.resolve_config(q.config)
        except ConfigError as exc:
            raise ConfigError(f"{at}: {exc}") from exc


def get_testbed(name: str) -> Testbed:
    """The registered testbed called `name`.

    Raises:
        ConfigError: no testbed has that name; the message lists the known ones.
    """
    testbed = _TESTBEDS.get(name)
    if testbed is None:
        raise ConfigError(
            f"unknown testbed {name!r}; known testbeds: {', '.join(sorted(_TESTBEDS))}",
            field="testbed",
        )
    return testbed


def list_testbeds() -> list[Testbed]:
    """Every registered testbed, sorted by name."""
    return [_TESTBEDS[name] for name in sorted(_TESTBEDS)]


def unregister_testbed(name: str) -> None:
    """Remove a testbed from the registry (for tests that register throwaway ones)."""
    _TESTBEDS.pop(name, None)
