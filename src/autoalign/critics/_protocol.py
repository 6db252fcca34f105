"""The `Critic` protocol, generic in what a critic checks, and the registry critics are chosen
from by id."""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    Protocol,
    TypeVar,
    overload,
    runtime_checkable,
)

from ..errors import ConfigError
from ..vocabulary import Stage
from ._finding import Finding
from ._paper import PaperDraft
from ._step import ExecutedStep

if TYPE_CHECKING:
    from ..models import ModelClient

CriticKind = Literal["llm", "programmatic"]
"""`programmatic`: a rule in code, deterministic and free; `llm`: asks a model."""

CRITIC_KINDS: tuple[CriticKind, ...] = ("llm", "programmatic")

_ID = re.compile(r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$")
_VERSION = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")


class CriticScale(StrEnum):
    """Which of the seed's critics a critic belongs to, and so what it checks."""

    STEP = "step"
    """Critic #1: one executed research step (`ExecutedStep`), in the execute stage."""
    PAPER = "paper"
    """Critic #2: a paper against the research log it was written from (`PaperDraft`), in the
    write-up stage."""

    @property
    def subject(self) -> type[Any]:
        """The type a critic of this scale checks."""
        return _SUBJECTS[self]

    @property
    def stage(self) -> Stage:
        """The pipeline stage whose artifacts it checks."""
        return _STAGES[self]

    @property
    def label(self) -> str:
        """The seed's name for it, e.g. `critic #1`."""
        return _LABELS[self]

    def describe(self) -> str:
        """One line for listings, e.g. `critic #2: paper (writeup)`."""
        return f"{self.label}: {self.value} ({self.stage})"


_SUBJECTS: dict[CriticScale, type[Any]] = {
    CriticScale.STEP: ExecutedStep, CriticScale.PAPER: PaperDraft,
}
_STAGES = {CriticScale.STEP: Stage.EXECUTE, CriticScale.PAPER: Stage.WRITEUP}
_LABELS = {CriticScale.STEP: "critic #1", CriticScale.PAPER: "critic #2"}

S_contra = TypeVar("S_contra", contravariant=True)


@dataclass(frozen=True, kw_only=True)
class CriticContext:
    """What a critic may use besides the subject it checks."""

    models: ModelClient | None = None
    """The model client, for `llm` critics; programmatic critics never need it."""


@runtime_checkable
class Critic(Protocol[S_contra]):
    """Something that checks a subject and reports findings: `Critic[ExecutedStep]` (critic #1)
    checks an executed step, `Critic[PaperDraft]` (critic #2) a paper.

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
    """The artifact kinds (or parts of a step) it reads, e.g. `sandbox_run`, `step_log`."""
    description: ClassVar[str]
    """What it flags, in one sentence."""
    scale: ClassVar[CriticScale]
    """Which critic it belongs to and so what it checks (`step` or `paper`). Registration infers
    it from `check`'s annotated subject when a class does not declare it."""

    async def check(self, subject: S_contra, *, context: CriticContext) -> list[Finding]:
        """The findings about `subject`; an empty list when it finds nothing."""
        ...


C = TypeVar("C", bound=type[Critic[Any]])

_REGISTRY: dict[str, type[Critic[Any]]] = {}


def _checked_subject(cls: type[Any], name: str) -> type[Any] | None:
    """The class `check` annotates its subject with, if it names a known subject type."""
    try:
        hints = typing.get_type_hints(cls.check)
    except (NameError, TypeError) as exc:
        raise ConfigError(
            f"critic {name}: cannot read the annotations of its check ({exc}); import the "
            "subject type where the critic is defined"
        ) from exc
    params = [p for p in inspect.signature(cls.check).parameters if p != "self"]
    subject = hints.get(params[0]) if params else None
    return subject if subject in _SUBJECTS.values() else None


def _scale(cls: type[Any], name: str) -> CriticScale:
    """The critic's declared scale, checked against `check`'s subject, or the one inferred."""
    declared = getattr(cls, "scale", None)
    subject = _checked_subject(cls, name)
    if declared is None:
        for scale, known in _SUBJECTS.items():
            if subject is known:
                return scale
        raise ConfigError(
            f"critic {name} must declare its scale (one of "
            f"{', '.join(s.value for s in CriticScale)}) or annotate check's subject as "
            f"{' or '.join(t.__name__ for t in _SUBJECTS.values())}"
        )
    if not isinstance(declared, CriticScale):
        raise ConfigError(
            f"critic {name} has scale {declared!r}; expected one of "
            f"{', '.join(s.value for s in CriticScale)}"
        )
    if subject is not None and subject is not declared.subject:
        raise ConfigError(
            f"critic {name} has scale {declared.value} (it checks {declared.subject.__name__}) "
            f"but its check takes {subject.__name__}"
        )
    return declared


def register_critic(cls: C) -> C:
    """Class decorator: validate the critic's declarations and register it under its id.

    Raises:
        ConfigError: a missing or malformed id, version, kind, checks, description or scale (or
            a scale that does not match `check`'s subject), or an id that another critic
            already has.
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
        raise ConfigError(f"critic {name} needs an async check(subject, *, context) method")
    scale = _scale(cls, name)
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ConfigError(
            f"critic id {name!r} is taken by {_REGISTRY[name].__name__}; choose another id"
        )
    cls.scale = scale
    _REGISTRY[name] = cls
    return cls


@overload
def get_critic(name: str, *, scale: Literal[CriticScale.STEP]) -> Critic[ExecutedStep]: ...
@overload
def get_critic(name: str, *, scale: Literal[CriticScale.PAPER]) -> Critic[PaperDraft]: ...
@overload
def get_critic(name: str, *, scale: None = None) -> Critic[Any]: ...
def get_critic(name: str, *, scale: CriticScale | None = None) -> Critic[Any]:
    """A new instance of the critic registered as `name` (typed by its subject when `scale` is
    given).

    Raises:
        ConfigError: no critic has that id (the message lists the known ones), or it is of
            another scale than `scale`.
    """
    try:
        cls = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigError(f"unknown critic {name!r}; known: {known}") from None
    if scale is not None and cls.scale != scale:
        raise ConfigError(
            f"critic {name} checks a {cls.scale.value} ({cls.scale.label}), not a {scale.value}"
        )
    return cls()


@overload
def list_critics(
    *, kind: CriticKind | None = None, scale: Literal[CriticScale.STEP]
) -> list[Critic[ExecutedStep]]: ...
@overload
def list_critics(
    *, kind: CriticKind | None = None, scale: Literal[CriticScale.PAPER]
) -> list[Critic[PaperDraft]]: ...
@overload
def list_critics(
    *, kind: CriticKind | None = None, scale: None = None
) -> list[Critic[Any]]: ...
def list_critics(
    *, kind: CriticKind | None = None, scale: CriticScale | None = None
) -> list[Critic[Any]]:
    """Every registered critic (or those of `kind` and `scale`), sorted by id."""
    return [
        get_critic(n) for n in sorted(_REGISTRY)
        if (kind is None or _REGISTRY[n].kind == kind)
        and (scale is None or _REGISTRY[n].scale == scale)
    ]
