"""The registry of programmatic injectors: one per flaw type, chosen by the type's id."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ConfigError
from ._change import Injected
from ._flaws import FLAW_TYPES, flaw_type
from ._subjects import Subject

Injector = Callable[[Subject, random.Random], "Injected[Any] | None"]
"""A programmatic injector: a tampered copy of the subject with one flaw and exactly what
changed, or None when the flaw cannot be put into this subject (it never fakes one)."""

F = TypeVar("F", bound=Injector)

_INJECTORS: dict[str, Injector] = {}


def injector(type_id: str) -> Callable[[F], F]:
    """Decorator: register the programmatic injector of flaw type `type_id`.

    Raises:
        ConfigError: the flaw type is unknown, or already has an injector.
    """
    flaw_type(type_id)  # an unknown type is an error at import

    def register(fn: F) -> F:
        if type_id in _INJECTORS and _INJECTORS[type_id] is not fn:
            raise ConfigError(f"flaw type {type_id!r} already has an injector "
                              f"({getattr(_INJECTORS[type_id], '__name__', '?')})")
        _INJECTORS[type_id] = fn
        return fn

    return register


def get_injector(type_id: str) -> Injector:
    """The programmatic injector of flaw type `type_id`.

    Raises:
        ConfigError: no flaw type or no injector of that id.
    """
    flaw_type(type_id)
    try:
        return _INJECTORS[type_id]
    except KeyError:
        raise ConfigError(f"flaw type {type_id!r} has no programmatic injector") from None


def inject(type_id: str, subject: Subject, *, seed: int) -> Injected[Any] | None:
    """A tampered copy of `subject` with one flaw of type `type_id`, deterministic given
    `seed`; None when the type cannot be put into this subject."""
    ft = flaw_type(type_id)
    fn = get_injector(type_id)
    result = fn(subject, random.Random(f"{ft.id}:{seed}"))
    return result


def missing_injectors() -> list[str]:
    """Flaw types without a programmatic injector (empty once every module is imported)."""
    return [t.id for t in FLAW_TYPES if t.id not in _INJECTORS]


__all__ = ["Injector", "get_injector", "inject", "injector", "missing_injectors"]
