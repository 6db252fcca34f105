"""Evaluating a case: each solution's metric against its threshold, statuses propagated up the
argument, confidence propagated by each strategy's dependence assumption, and counter-claims
(defeaters) applied. The rules are documented in `docs/safety-case.md`; in short:

- a solution is `supported` when its bound passes the threshold, `defeated` when it fails,
  `undecided` without a reading (or without the bound it names), `stale` when it passes on a
  measurement older than its freshness window;
- a goal or strategy combines its sub-claims: `all` (the default) takes the worst (defeated,
  then undecided, then stale, then supported), `any` (redundant lines) the best; an undeveloped
  one is `undecided`;
- context, assumptions and justifications are `supported` (stated), unless challenged;
- a node stated in the context of a defeated assumption is `defeated`; a node challenged by a
  supported counter-claim is `defeated`, by an undecided or stale one at best `undecided`;
- doubt (an upper bound on the chance a claim fails; confidence is 1 - doubt) starts at each
  supported leaf by its `doubt` rule and combines: `all` + independent: 1 - prod(1 - d);
  `all` + unknown: min(1, sum d) (Bonferroni); `any` + independent: prod d; `any` + unknown:
  min d; `measured`: the bound of the named metric (e.g. the observed escape probability).
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from ..vocabulary import CaseStatus
from ._model import Case, Dependence, ElementType, Evidence, duration_seconds
from ._paths import parse_path
from ._sources import Missing, Reading, Sources

_WORST = (CaseStatus.DEFEATED, CaseStatus.UNDECIDED, CaseStatus.STALE, CaseStatus.SUPPORTED)
"""Statuses from worst to best."""


class Figure(BaseModel):
    """What a solution read and how it compared."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    reading: Reading | None
    """The measurement (None when it could not be read)."""
    bound: str
    """`lower`, `upper` or `estimate`."""
    value: float | None
    """The number compared (the bound's value)."""
    comparison: str
    threshold: float
    passed: bool | None
    """Whether the value passes; None without a value."""
    fresh_for: str | None = None
    age_days: float | None = None
    """How old the measurement was at evaluation time, in days."""


class NodeResult(BaseModel):
    """One element's evaluation."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    id: str
    type: ElementType
    text: str
    status: CaseStatus
    reason: str
    """Why, in words (names the evidence or the sub-claim that decided)."""
    doubt: float | None = None
    """Upper bound on the chance the claim fails (None: no bound)."""
    figure: Figure | None = None
    """A solution's measurement and test."""
    rule: str | None = None
    """How the doubt was combined (`all/independent: 1-prod(1-d)`, ...)."""
    children: list[str] = Field(default_factory=list)
    """The supporting elements, in order."""
    context: list[str] = Field(default_factory=list)
    """The context, assumptions and justifications it is stated in."""
    challenged_by: list[str] = Field(default_factory=list)
    """The counter-claims (defeaters) that challenge it."""
    metrics: list[str] = Field(default_factory=list)
    """Every metric path this node depends on, directly or through its sub-claims."""

    @property
    def confidence(self) -> float | None:
        """1 - doubt."""
        return None if self.doubt is None else 1.0 - self.doubt


class Evaluation(BaseModel):
    """A whole case evaluated at one time."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    case_name: str
    digest: str
    """sha256 of the case file's text."""
    evaluated_at: datetime
    roots: list[str]
    """The top-level goals."""
    nodes: dict[str, NodeResult]
    """Every element, in file order."""


def case_digest(text: str) -> str:
    """The sha256 of a case file's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def evaluate(
    case: Case, sources: Sources, *, name: str = "case", digest: str = "",
    now: datetime | None = None,
) -> Evaluation:
    """Evaluate every element of a checked `case` against `sources` at `now` (default: the
    current time). The case must have passed `check` (no cycles, links resolve). A case whose
    `x-case` states a `redteam_schema` other than the report's version reads nothing from the
    report (its `redteam:` leaves are undecided, saying why)."""
    when = now or datetime.now(UTC)
    header = case.extensions.get("x-case")
    stated = header.get("redteam_schema") if isinstance(header, dict) else None
    if stated is not None and sources.report is not None and sources.report.version != stated:
        sources = sources.without_report(
            f"the case binds to red-team report schema version {stated}, the report is version "
            f"{sources.report.version}: its metrics may mean something else")
    done: dict[str, NodeResult] = {}
    for eid in case.elements:
        _visit(eid, case, sources, when, done)
    referenced = {t for el in case.elements.values() for t in el.supported_by}
    roots = [i for i, el in case.elements.items() if case.type_of(i) is ElementType.GOAL
             and i not in referenced]
    return Evaluation(case_name=name, digest=digest, evaluated_at=when, roots=roots,
                      nodes={i: done[i] for i in case.elements})


def _visit(eid: str, case: Case, sources: Sources, now: datetime,
           done: dict[str, NodeResult]) -> NodeResult:
    if eid in done:
        return done[eid]
    el = case.elements[eid]
    kind = case.type_of(eid)
    for child in [*el.supported_by, *el.in_context_of, *case.challengers(eid)]:
        _visit(child, case, sources, now, done)
    metrics: list[str] = []
    figure: Figure | None = None
    rule: str | None = None
    doubt: float | None = None
    if kind in (ElementType.SOLUTION, ElementType.COUNTER_SOLUTION):
        status, reason, figure, doubt = _leaf(el.evidence, sources, now)
        if el.evidence is not None:
            metrics.append(el.evidence.metric)
    elif kind in (ElementType.GOAL, ElementType.STRATEGY, ElementType.COUNTER_GOAL):
        if el.undeveloped:
            status, reason = CaseStatus.UNDECIDED, "undeveloped"
        else:
            children = [done[c] for c in el.supported_by]
            dependence = el.dependence or Dependence()
            status, reason = _combine_status(children, dependence)
            doubt, rule, extra = _combine_doubt(children, dependence, sources)
            if extra is not None:
                metrics.append(extra[0])
                if extra[1] is not None and status is not CaseStatus.DEFEATED:
                    status, reason = CaseStatus.UNDECIDED, extra[1]
        for child in el.supported_by:
            metrics.extend(m for m in done[child].metrics if m not in metrics)
    else:
        status, reason = CaseStatus.SUPPORTED, (
            "assumed" if kind is ElementType.ASSUMPTION else "stated")
    for ctx in el.in_context_of:
        c = done[ctx]
        metrics.extend(m for m in c.metrics if m not in metrics)
        if c.status is CaseStatus.DEFEATED and status is not CaseStatus.DEFEATED:
            status, reason = CaseStatus.DEFEATED, f"stated in the context of {ctx}, defeated"
        elif c.status is CaseStatus.UNDECIDED and status in (CaseStatus.SUPPORTED,
                                                             CaseStatus.STALE):
            status, reason = CaseStatus.UNDECIDED, f"stated in the context of {ctx}, undecided"
    for challenger in case.challengers(eid):
        c = done[challenger]
        metrics.extend(m for m in c.metrics if m not in metrics)
        if c.status is CaseStatus.SUPPORTED and status is not CaseStatus.DEFEATED:
            status, reason = CaseStatus.DEFEATED, f"defeated by {challenger}: {c.text}"
        elif c.status in (CaseStatus.UNDECIDED, CaseStatus.STALE) and status in (
                CaseStatus.SUPPORTED, CaseStatus.STALE):
            status, reason = CaseStatus.UNDECIDED, (
                f"challenged by {challenger} ({c.status}), not ruled out")
    if el.defeated and status is not CaseStatus.DEFEATED:
        status, reason = CaseStatus.DEFEATED, "marked defeated in the case file"
    if status in (CaseStatus.DEFEATED, CaseStatus.UNDECIDED):
        doubt = None
    done[eid] = NodeResult(
        id=eid, type=kind, text=el.text, status=status, reason=reason, doubt=doubt,
        figure=figure, rule=rule, children=list(el.supported_by), metrics=metrics,
        context=list(el.in_context_of), challenged_by=case.challengers(eid),
    )
    return done[eid]


def _leaf(evidence: Evidence | None, sources: Sources, now: datetime,
          ) -> tuple[CaseStatus, str, Figure | None, float | None]:
    if evidence is None:
        return CaseStatus.UNDECIDED, "no x-evidence", None, None
    got = sources.read(parse_path(evidence.metric), evidence.method)
    if isinstance(got, Missing):
        figure = Figure(reading=None, bound=evidence.bound, value=None,
                        comparison=evidence.comparison, threshold=evidence.threshold,
                        passed=None, fresh_for=evidence.fresh_for)
        return CaseStatus.UNDECIDED, got.reason, figure, None
    value = got.value(evidence.bound)
    age = None
    if got.measured_at is not None:
        age = (now - got.measured_at) / timedelta(days=1)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        figure = Figure(reading=got, bound=evidence.bound, value=None,
                        comparison=evidence.comparison, threshold=evidence.threshold,
                        passed=None, fresh_for=evidence.fresh_for, age_days=age)
        what = "estimate" if evidence.bound == "estimate" else f"{evidence.bound} bound"
        return CaseStatus.UNDECIDED, f"{got.path} has no {what} (n={got.n})", figure, None
    passed = value >= evidence.threshold if evidence.comparison == ">=" else (
        value <= evidence.threshold)
    figure = Figure(reading=got, bound=evidence.bound, value=value,
                    comparison=evidence.comparison, threshold=evidence.threshold,
                    passed=passed, fresh_for=evidence.fresh_for, age_days=age)
    shown = f"{evidence.bound} {value:.3g} {evidence.comparison} {evidence.threshold:g}"
    if not passed:
        fails = "<" if evidence.comparison == ">=" else ">"
        return (CaseStatus.DEFEATED,
                f"{got.path}: {evidence.bound} {value:.3g} {fails} {evidence.threshold:g} "
                f"(n={got.n})", figure, None)
    doubt = _leaf_doubt(evidence, got, value)
    if (evidence.fresh_for is not None and got.measured_at is not None
            and (now - got.measured_at).total_seconds() > duration_seconds(evidence.fresh_for)):
        return (CaseStatus.STALE, f"{shown}, but measured {age:.1f} days ago (fresh for "
                f"{evidence.fresh_for})", figure, doubt)
    return CaseStatus.SUPPORTED, f"{got.path}: {shown} (n={got.n})", figure, doubt


def _leaf_doubt(evidence: Evidence, reading: Reading, value: float) -> float | None:
    if evidence.doubt == "level":
        return None if reading.level is None or evidence.bound == "estimate" else (
            1.0 - reading.level)
    if evidence.doubt == "complement":
        return min(1.0, max(0.0, 1.0 - value))
    return min(1.0, max(0.0, value))


def _combine_status(children: list[NodeResult], dep: Dependence) -> tuple[CaseStatus, str]:
    if dep.combine == "any":
        best = min(children, key=lambda c: -_WORST.index(c.status))
        if best.status is CaseStatus.DEFEATED:
            return CaseStatus.DEFEATED, "every line of evidence is defeated"
        return best.status, f"{best.id} is {best.status} (any one line suffices)"
    worst = min(children, key=lambda c: _WORST.index(c.status))
    if worst.status is CaseStatus.SUPPORTED:
        return CaseStatus.SUPPORTED, "every sub-claim is supported"
    return worst.status, f"{worst.id} is {worst.status}"


def _combine_doubt(
    children: list[NodeResult], dep: Dependence, sources: Sources,
) -> tuple[float | None, str, tuple[str, str | None] | None]:
    """(doubt, rule, (measured metric, why it is missing or None))."""
    doubts = [c.doubt for c in children]
    if dep.kind == "measured" and dep.metric is not None:
        got = sources.read(parse_path(dep.metric), dep.method)
        rule = f"measured: {dep.bound} of {dep.metric}"
        if isinstance(got, Missing):
            return None, rule, (dep.metric, f"dependence measured by {dep.metric}: {got.reason}")
        value = got.value(dep.bound)
        if value is None:
            return None, rule, (dep.metric, f"{dep.metric} has no {dep.bound} bound")
        return min(1.0, max(0.0, value)), rule, (dep.metric, None)
    if dep.combine == "any":
        ds = [1.0 if d is None else d for d in doubts]
        if dep.kind == "independent":
            return math.prod(ds), "any/independent: prod(d)", None
        return min(ds), "any/unknown: min(d)", None
    if any(d is None for d in doubts):
        return None, f"all/{dep.kind}: a sub-claim has no doubt bound", None
    known = [d for d in doubts if d is not None]
    if dep.kind == "independent":
        return 1.0 - math.prod(1.0 - d for d in known), "all/independent: 1-prod(1-d)", None
    return min(1.0, sum(known)), "all/unknown: min(1, sum(d)) (Bonferroni)", None


__all__ = ["Evaluation", "Figure", "NodeResult", "case_digest", "evaluate"]
