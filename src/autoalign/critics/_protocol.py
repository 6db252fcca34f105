"""The `Critic` protocol and the registry critics are chosen from by id."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

from ..errors import ConfigError
from ._finding import Finding
from ._step import ExecutedStep

if TYPE_CHECKING:
    from ..models import ModelClient

CriticKind = Literal["llm", "programmatic"]
"""`programmatic`: a rule in code, deterministic and free; `llm`: asks a model."""

CRITIC_KINDS: tuple[CriticKind, ...] = ("llm", "programmatic")

_ID = re.compile(r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$")
_VERSION = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")


@dataclass(frozen=True, kw_only=True)
class CriticContext:
    """What a critic may use besides the step it checks."""

    models: ModelClient | None = None
    """The model client, for `llm` critics; programmatic critics never need it."""


@runtime_checkable
class Critic(Protocol):
    """Something that checks an executed step and reports findings.

    A critic is a class with these class attributes and an async `check`; register it with
    `@register_critic`. A change to what a critic flags is a new `version`, so every stored
    flaw says which rule found it.
    """

    id: ClassVar[str]
    """Unique id, lowercase, dot or dash separated, e.g. `c1.numbers-match`."""
    version: ClassVar[str]
    """Dotted digits, e.g. `1` or `1.2`; recorded on every flaw the critic finds."""
    kind: ClassVar[CriticKind]
    """`programmatic` or `llm`."""
    checks: ClassVar[tuple[str, ...]]
    """The artifact kinds (or parts of a step) it reads, e.g. `sandbox_run`, `research_log`."""
    description: ClassVar[str]
    """What it flags, in one sentence."""

    async def check(self, step: ExecutedStep, *, context: CriticContext) -> list[Finding]:
        """The findings about `step`; an empty list when it finds nothing."""
        ...


C = TypeVar("C", bound=type[Critic])

_REGISTRY: dict[str, type[Critic]] = {}


def register_critic(cls: C) -> C:
    """Class decorator: validate the critic's declarations and register it under its id.

    Raises:
        ConfigError: a missing or malformed id, version, kind, checks or description, or an
            id that another critic already has.
    """
    name = getattr(cls, "id", None)
    if not isinstance(name, str) or not _ID.match(name):
        raise ConfigError(
            f"critic {cls.__name__} needs an id of lowercase letters and digits, dot or dash "
            f"separated (e.g. c1.numbers-match), got {name!r}"
        )
    version = getattr(cls, "version", None)
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ConfigError(f"critic {name} needs a version like '1' or '1.2', got {version!r}")
    kind = getattr(cls, "kind", None)
    if kind not in CRITIC_KINDS:
        raise ConfigError(f"critic {name} has kind {kind!r}; expected one of {CRITIC_KINDS}")
    checks = getattr(cls, "checks", None)
    if not isinstance(checks, tuple) or not checks or not all(
        isinstance(c, str) and c for c in checks
    ):
        raise ConfigError(
            f"critic {name} must declare the artifact kinds it checks, got {checks!r}"
        )
    description = getattr(cls, "description", None)
    if not isinstance(description, str) or not description.strip():
        raise ConfigError(f"critic {name} needs a one-sentence description")
    if not inspect.iscoroutinefunction(getattr(cls, "check", None)):
        raise ConfigError(f"critic {name} needs an async check(step, *, context) method")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ConfigError(
            f"critic id {name!r} is taken by {_REGISTRY[name].__name__}; choose another id"
        )
    _REGISTRY[name] = cls
    return cls


def get_critic(name: str) -> Critic:
    """A new instance of the critic registered as `name`.

    Raises:
        ConfigError: no critic has that id; the message lists the known ones.
    """
    try:
        cls = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigError(f"unknown critic {name!r}; known: {known}") from None
    return cls()


def list_critics(*, kind: CriticKind | None = None) -> list[Critic]:
    """Every registered critic (or those of `kind`), sorted by id."""
    return [get_critic(n) for n in sorted(_REGISTRY) if kind is None or _REGISTRY[n].kind == kind]


