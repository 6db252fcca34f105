"""What a testbed declares (knobs, interventions, metrics, questions) and the `Testbed` class."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..errors import ConfigError, DataError
from ._threads import single_threaded

KnobKind = Literal["int", "float", "bool", "choice"]
"""The type of a knob's value."""

EffectKind = Literal["difference", "relative_change"]
"""How a question compares two arms: `treated - baseline`, or `treated / baseline - 1`."""

Direction = Literal["at_least", "at_most"]
"""A question's answer is yes when the true effect is `>=` (at_least) or `<=` (at_most) its
threshold."""

KnobValue = int | float | bool | str
"""A knob's value after validation."""

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""Names of testbeds, knobs, interventions, metrics and question ids."""


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not NAME.match(value):
        raise ConfigError(
            f"{what} must be lowercase letters, digits and underscores starting with a letter, "
            f"got {value!r}"
        )


@dataclass(frozen=True, kw_only=True)
class Knob:
    """One setting of a testbed, with its type, range and default.

    A knob is validated when it is created (a default outside its own range is a bug in the
    testbed), and every value given to a run is checked with `check`.
    """

    name: str
    """Key of the knob in a run's config."""
    kind: KnobKind
    """The type of the value: int, float, bool, or one string out of `choices`."""
    default: KnobValue
    """Value used when the config does not set the knob."""
    doc: str
    """What the knob changes, in one or two sentences."""
    low: float | None = None
    """Smallest allowed value (int and float knobs; inclusive)."""
    high: float | None = None
    """Largest allowed value (int and float knobs; inclusive)."""
    choices: tuple[str, ...] = ()
    """The allowed values of a choice knob."""

    def __post_init__(self) -> None:
        _check_name(self.name, "a knob name")
        if not self.doc.strip():
            raise ConfigError(f"knob {self.name!r} needs a doc string")
        if self.kind not in ("int", "float", "bool", "choice"):
            raise ConfigError(f"knob {self.name!r} has unknown kind {self.kind!r}")
        if self.kind in ("int", "float"):
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ConfigError(f"{self.kind} knob {self.name!r} needs low <= high")
        elif self.low is not None or self.high is not None:
            raise ConfigError(f"{self.kind} knob {self.name!r} cannot have a range")
        if self.kind == "choice" and (
            len(self.choices) < 2 or len(set(self.choices)) != len(self.choices)
        ):
            raise ConfigError(f"choice knob {self.name!r} needs at least two distinct choices")
        if self.kind != "choice" and self.choices:
            raise ConfigError(f"{self.kind} knob {self.name!r} cannot have choices")
        try:
            default = self.check(self.default)
        except ConfigError as exc:
            raise ConfigError(
                f"the default of knob {self.name!r} is invalid: {exc.reason}"
            ) from exc
        object.__setattr__(self, "default", default)  # normalised, e.g. 5.0 -> 5 for an int

    @property
    def type_text(self) -> str:
        """The type and range in words, e.g. `int in [1, 10]` or `one of a, b`."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "bool"
        low, high = self.low, self.high
        if self.kind == "int":
            return f"int in [{int(low or 0)}, {int(high or 0)}]"
        return f"float in [{low:g}, {high:g}]"

    def check(self, value: object, *, field: str | None = None) -> KnobValue:
        """The value, normalised to the knob's type (an integral float becomes an int).

        Raises:
            ConfigError: the value has the wrong type or is out of range; `field` is the
                knob's name unless given.
        """
        where = field or self.name
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"expected true or false, got {value!r}", field=where)
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ConfigError(
                    f"expected one of {', '.join(self.choices)}, got {value!r}", field=where
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"expected {self.type_text}, got {value!r}", field=where)
        number: int | float
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"expected an integer, got {value!r}", field=where)
            number = int(value)
        else:
            if not math.isfinite(value):
                raise ConfigError(f"expected a finite number, got {value!r}", field=where)
            number = float(value)
        assert self.low is not None and self.high is not None  # __post_init__ guarantees
        if not self.low <= number <= self.high:
            raise ConfigError(f"{value!r} is out of range, expected {self.type_text}", field=where)
        return number


@dataclass(frozen=True, kw_only=True)
class Intervention:
    """A named change to a run's config or training, applied on top of the knobs."""

    name: str
    """The name a spec or question uses."""
    doc: str
    """Exactly what changes (which knob, which loss term, by how much)."""


@dataclass(frozen=True, kw_only=True)
class Metric:
    """A number a run reports."""

    name: str
    """Key in the dict `Testbed.run` returns."""
    doc: str
    """What is measured and on which data."""
    higher_is_better: bool
    """Whether a larger value is the desirable direction."""


@dataclass(frozen=True, kw_only=True)
class Question:
    """A yes/no research question about one intervention, whose true answer the testbed knows.

    The effect compares a treated arm (`intervention`) with a comparison arm (`comparison`, or no
    intervention when it is None), both at the knob settings of `config` over defaults, on the
    same seeds. The answer is yes when the effect is at least (or at most) `threshold`.
    """

    id: str
    """Stable identifier, unique within the testbed."""
    text: str
    """The question as a researcher would ask it."""
    intervention: str
    """The treated arm's intervention."""
    metric: str
    """The metric compared."""
    effect_kind: EffectKind
    """`difference` (treated mean - comparison mean) or `relative_change` (treated mean /
    comparison mean - 1)."""
    threshold: float
    """The effect size the question asks about."""
    direction: Direction
    """`at_least`: yes iff effect >= threshold; `at_most`: yes iff effect <= threshold."""
    comparison: str | None = None
    """The comparison arm's intervention; None means the baseline (no intervention)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Knob settings shared by both arms (unset knobs take their defaults)."""

    def holds(self, effect: float) -> bool:
        """Whether the question's claim is true for this effect."""
        if self.direction == "at_least":
            return effect >= self.threshold
        return effect <= self.threshold

    @property
    def comparison_text(self) -> str:
        """The comparison arm in words."""
        return self.comparison or "baseline (no intervention)"


class Testbed(ABC):
    """A small CPU experiment with knobs, interventions, metrics and questions of known answer.

    Subclasses set the class attributes, implement `simulate`, and are registered with
    `@register_testbed`, which validates the declarations. Call `run`, which validates the config,
    intervention and seed first; `simulate` gets a complete, checked config.

    A run must be a real simulation or training run, take well under a second on one core, and
    draw every random number from generators seeded by `seed` alone. `run` limits BLAS and
    OpenMP to one thread while `simulate` runs.
    """

    name: ClassVar[str]
    """Registry name, e.g. `reward_hacking`."""
    version: ClassVar[str]
    """Bumped whenever the behaviour changes; ground truth is cached per version."""
    description: ClassVar[str]
    """One line: what runs."""
    analogy: ClassVar[str]
    """Which alignment question this is an analogue of, and where the analogy stops."""
    knobs: ClassVar[tuple[Knob, ...]]
    """The settings a config may change."""
    interventions: ClassVar[tuple[Intervention, ...]]
    """Named changes a spec or question may apply."""
    metrics: ClassVar[tuple[Metric, ...]]
    """What `run` returns, in this order."""
    questions: ClassVar[tuple[Question, ...]]
    """Research questions with known answers (3-5 per testbed)."""

    def knob(self, name: str) -> Knob:
        """The knob called `name`.

        Raises:
            ConfigError: there is none; the message lists the knobs.
        """
        for knob in self.knobs:
            if knob.name == name:
                return knob
        raise ConfigError(
            f"testbed {self.name!r} has no knob {name!r}; knobs: "
            + ", ".join(k.name for k in self.knobs),
            field=f"config.{name}",
        )

    def metric(self, name: str) -> Metric:
        """The metric called `name` (KeyError if there is none)."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def question(self, question_id: str) -> Question:
        """The question with this id.

        Raises:
            ConfigError: there is none; the message lists the ids.
        """
        for question in self.questions:
            if question.id == question_id:
                return question
        raise ConfigError(
            f"testbed {self.name!r} has no question {question_id!r}; questions: "
            + ", ".join(q.id for q in self.questions),
            field="question_id",
        )

    def resolve_config(self, config: Mapping[str, Any]) -> dict[str, KnobValue]:
        """Every knob's value: the config's, checked, over the defaults.

        Raises:
            ConfigError: a key is not a knob, or a value has the wrong type or range; the field is
                `config.<knob>`.
        """
        resolved: dict[str, KnobValue] = {k.name: k.default for k in self.knobs}
        for key, value in config.items():
            knob = self.knob(str(key))
            resolved[knob.name] = knob.check(value, field=f"config.{knob.name}")
        return resolved

    def check_intervention(self, intervention: str | None) -> None:
        """Raise `ConfigError` (field `intervention`) unless it is None or declared."""
        if intervention is None or any(i.name == intervention for i in self.interventions):
            return
        known = ", ".join(i.name for i in self.interventions)
        raise ConfigError(
            f"testbed {self.name!r} has no intervention {intervention!r}; interventions: {known}",
            field="intervention",
        )

    def run(
        self, config: Mapping[str, Any], *, intervention: str | None = None, seed: int
    ) -> dict[str, float]:
        """One run: one config, one intervention (or none), one seed.

        Returns:
            Every declared metric, in declaration order, as a finite float.

        Raises:
            ConfigError: unknown knob, bad value, unknown intervention, or a seed that is not a
                non-negative int.
            DataError: the simulation returned something other than its declared metrics.
        """
        resolved = self.resolve_config(config)
        self.check_intervention(intervention)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"expected a non-negative integer seed, got {seed!r}", field="seed")
        with single_threaded():
            raw = self.simulate(resolved, intervention=intervention, seed=seed)
        names = [m.name for m in self.metrics]
        if set(raw) != set(names):
            raise DataError(
                f"testbed {self.name!r} returned metrics {sorted(raw)}, expected {sorted(names)}"
            )
        out = {name: float(raw[name]) for name in names}
        bad = {k: v for k, v in out.items() if not math.isfinite(v)}
        if bad:
            raise DataError(f"testbed {self.name!r} returned non-finite metrics {bad}")
        return out

    @abstractmethod
    def simulate(
        self, config: Mapping[str, KnobValue], *, intervention: str | None, seed: int
    ) -> Mapping[str, float]:
        """Run the experiment; `config` holds every knob, already checked."""
