"""The safety-case format: a superset of gsn2x's GSN YAML (v3), as pydantic models.

A case file maps element ids to elements (and may hold a `module` entry and top-level `x-` keys).
The id's prefix gives the element's type: `G` goal, `S` strategy, `Sn` solution, `C` context,
`A` assumption, `J` justification. Everything autoalign adds sits under `x-` keys, which stock
gsn2x ignores, so the same file renders there. `docs/safety-case.md` documents the format.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FORMAT_VERSION = 1
"""Version of the `x-` extensions; a case file may state it as `x-case: {version: 1}`."""


class ElementType(StrEnum):
    """What an element is, read from its id's prefix."""

    GOAL = "goal"
    STRATEGY = "strategy"
    SOLUTION = "solution"
    CONTEXT = "context"
    ASSUMPTION = "assumption"
    JUSTIFICATION = "justification"
    COUNTER_GOAL = "counter-goal"
    """gsn2x's dialectic extension: a claim against another element (`challenges`)."""
    COUNTER_SOLUTION = "counter-solution"
    """gsn2x's dialectic extension: evidence against another element, or for a counter-goal."""


_PREFIXES: tuple[tuple[str, ElementType], ...] = (
    ("CSn", ElementType.COUNTER_SOLUTION),
    ("CG", ElementType.COUNTER_GOAL),
    ("Sn", ElementType.SOLUTION),
    ("G", ElementType.GOAL),
    ("S", ElementType.STRATEGY),
    ("C", ElementType.CONTEXT),
    ("A", ElementType.ASSUMPTION),
    ("J", ElementType.JUSTIFICATION),
)


NODE_TYPES: dict[str, ElementType] = {
    "Goal": ElementType.GOAL, "Strategy": ElementType.STRATEGY,
    "Solution": ElementType.SOLUTION, "Context": ElementType.CONTEXT,
    "Assumption": ElementType.ASSUMPTION, "Justification": ElementType.JUSTIFICATION,
    "CounterGoal": ElementType.COUNTER_GOAL, "CounterSolution": ElementType.COUNTER_SOLUTION,
}
"""gsn2x's `nodeType` values."""


def element_type(element_id: str, node_type: str | None = None) -> ElementType | None:
    """The element's type: its `nodeType` when given (gsn2x), else its id's prefix (`CSn` and
    `CG` before `C`, `Sn` before `S`); None for neither."""
    if node_type is not None:
        return NODE_TYPES.get(node_type)
    for prefix, kind in _PREFIXES:
        if element_id.startswith(prefix):
            return kind
    return None


Comparison = Literal[">=", "<="]
Bound = Literal["lower", "upper", "estimate"]
DoubtRule = Literal["level", "complement", "value"]
Combine = Literal["all", "any"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float:
    """`"30d"` → seconds. Units: s, m, h, d, w.

    Raises:
        ValueError: not a number followed by one unit.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h or 2w")
    return float(match.group(1)) * _SECONDS[match.group(2)]


class Evidence(BaseModel):
    """What a solution reads, and the test it must pass (`x-evidence`). Only the threshold is
    written here; the measured number always comes from the database or a red-team report."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              use_attribute_docstrings=True)

    metric: str
    """The metric path (`redteam:recall{critic=c2.review@1,flaw_type=cherry-pick}`,
    `db:review.error_rate`, ...; the namespace is in `docs/safety-case.md`)."""
    method: str | None = None
    """The estimator behind the interval (`wilson`, `clopper-pearson`, `bootstrap-percentile`);
    None: `wilson` where the metric has it, else the only one it has."""
    bound: Bound = "lower"
    """Which number is compared: the interval's lower or upper end, or the point estimate."""
    comparison: Comparison = ">="
    """How the bound must stand to the threshold for the claim to hold."""
    threshold: float
    """The requirement (a number the claim states, not a measurement)."""
    fresh_for: str | None = Field(default=None, alias="freshness")
    """How long a measurement stays good (`30d`, `12h`); older is `stale`. None: forever."""
    doubt: DoubtRule = "level"
    """What this leaf contributes as doubt (chance its claim fails) to the confidence
    propagation: `level` (1 - the interval's coverage: the chance the bound is wrong),
    `complement` (1 - the bound: e.g. a miss rate read from a recall bound) or `value` (the
    bound itself: e.g. an escape or false-alarm rate)."""

    @field_validator("fresh_for")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("the threshold must be a finite number")
        return value


class Dependence(BaseModel):
    """A strategy's assumption on how its sub-claims fail together (`x-dependence`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    kind: Literal["independent", "unknown", "measured"] = "unknown"
    """`independent`: doubts combine as independent events; `unknown`: only the sum-of-doubts
    (Bonferroni) bound, or the best single line for `any`; `measured`: the doubt is read from
    `metric` (e.g. the red team's escape probability of a set of critics)."""
    combine: Combine = "all"
    """`all`: the claim needs every sub-claim (a conjunction); `any`: the sub-claims are
    redundant lines of evidence and one suffices (e.g. several critics)."""
    metric: str | None = None
    """For `measured`: the metric path whose bound is the joint doubt."""
    method: str | None = None
    """For `measured`: the metric's estimator (as in `x-evidence`)."""
    bound: Bound = "upper"
    """For `measured`: which number of the metric is the doubt."""


class Element(BaseModel):
    """One GSN element. gsn2x's keys keep gsn2x's spelling; autoalign's are `x-` keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              use_attribute_docstrings=True)

    text: str = ""
    """The claim, strategy, evidence or context, in words."""
    supported_by: list[str] = Field(default_factory=list, alias="supportedBy")
    """Ids of the elements that support this one (goals and strategies only)."""
    in_context_of: list[str] = Field(default_factory=list, alias="inContextOf")
    """Ids of the context, assumptions and justifications this one is stated in."""
    undeveloped: bool = False
    """Marked as not developed further (goals and strategies)."""
    challenges: list[str] = Field(default_factory=list)
    """The ids of the elements this counter-goal or counter-solution challenges (a defeater)."""
    defeated_relation: str | None = Field(default=None, alias="defeatedRelation")
    """gsn2x: a relation of this element marked defeated (kept for rendering in gsn2x)."""
    defeated: bool = False
    """gsn2x's flag that the element is defeated (taken as given: it stays defeated)."""
    node_type: str | None = Field(default=None, alias="nodeType")
    """gsn2x's explicit node type (e.g. `CounterGoal`, `CounterSolution`)."""
    level: str | None = None
    """gsn2x layout: elements of one level are drawn on one rank."""
    horizontal_index: Any = Field(default=None, alias="horizontalIndex")
    """gsn2x layout hint."""
    rank_increment: int | None = Field(default=None, alias="rankIncrement")
    """gsn2x layout hint."""
    url: str | None = None
    """gsn2x: a link for the element."""
    add_classes: list[str] | None = Field(default=None, alias="addClasses")
    """gsn2x: CSS classes."""
    classes: list[str] | None = None
    """gsn2x: CSS classes."""
    acp: dict[str, Any] | None = None
    """gsn2x: assurance claim points."""
    evidence: Evidence | None = Field(default=None, alias="x-evidence")
    """autoalign: the metric this solution reads and its test."""
    dependence: Dependence | None = Field(default=None, alias="x-dependence")
    """autoalign: how the sub-claims of this strategy fail together."""

    @field_validator("supported_by", "in_context_of", "challenges", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        """gsn2x accepts one id as a plain string."""
        return [value] if isinstance(value, str) else value


class Module(BaseModel):
    """gsn2x's `module` entry."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    brief: str | None = None


class Case(BaseModel):
    """A whole case file: its module, its elements by id (in file order), and its `x-` keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module: Module | None = None
    elements: dict[str, Element]
    extensions: dict[str, Any] = Field(default_factory=dict)
    """Top-level `x-` keys (e.g. `x-case: {version: 1, redteam_schema: 1}`)."""

    def type_of(self, element_id: str) -> ElementType:
        """The element's type (checked on load, so every element has one)."""
        kind = element_type(element_id, self.elements[element_id].node_type)
        if kind is None:  # pragma: no cover - refused when loading
            raise KeyError(element_id)
        return kind

    def challengers(self, element_id: str) -> list[str]:
        """Ids of the elements that challenge `element_id`, in file order."""
        return [i for i, e in self.elements.items() if element_id in e.challenges]


__all__ = [
    "FORMAT_VERSION",
    "NODE_TYPES",
    "Bound",
    "Case",
    "Combine",
    "Comparison",
    "Dependence",
    "DoubtRule",
    "Element",
    "ElementType",
    "Evidence",
    "Module",
    "duration_seconds",
    "element_type",
]
