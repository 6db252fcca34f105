"""Well-formedness of a case: gsn2x's rules (unique ids, valid link kinds per element type, no
cycles, every goal and strategy supported or undeveloped, links to existing ids) and autoalign's
(evidence only on solutions, dependence only on strategies, metric paths that parse). Every
problem names the element and its line."""

from __future__ import annotations

from ._load import Positions, Problem
from ._model import FORMAT_VERSION, Case, ElementType
from ._paths import parse_path

G, S, SN = ElementType.GOAL, ElementType.STRATEGY, ElementType.SOLUTION
C, A, J = ElementType.CONTEXT, ElementType.ASSUMPTION, ElementType.JUSTIFICATION
CG, CSN = ElementType.COUNTER_GOAL, ElementType.COUNTER_SOLUTION

SUPPORTED_BY: dict[ElementType, frozenset[ElementType]] = {
    G: frozenset({G, S, SN}),
    S: frozenset({G}),
    CG: frozenset({CG, CSN}),
}
"""Which types may support which (gsn2x): a goal by goals, strategies and solutions; a strategy
by goals; a counter-goal by counter-goals and counter-solutions. No other type has
`supportedBy`."""
IN_CONTEXT_OF: dict[ElementType, frozenset[ElementType]] = {
    G: frozenset({C, A, J}),
    S: frozenset({C, A, J}),
    CG: frozenset({C, A, J}),
}
"""Which types may be put in context (gsn2x): goals, strategies and counter-goals, of context,
assumptions and justifications."""
ARGUED = (G, S, CG)
"""Types that must be supported or marked undeveloped."""
EVIDENCE = (SN, CSN)
"""Types that may carry `x-evidence`."""


def check(case: Case, positions: Positions, *, file: str = "<case>") -> list[Problem]:
    """Every problem of `case`, errors first then warnings, each in file order."""
    problems: list[Problem] = []

    def add(severity: str, element: str | None, message: str, *where: str | int) -> None:
        line = positions.of(element, *where) if element else 0
        problems.append(Problem(severity=severity,  # type: ignore[arg-type]
                                element=element, line=line, message=message, file=file))

    ids = case.elements
    for eid, el in ids.items():
        kind = case.type_of(eid)
        for field, links, allowed in (
            ("supportedBy", el.supported_by, SUPPORTED_BY.get(kind, frozenset())),
            ("inContextOf", el.in_context_of, IN_CONTEXT_OF.get(kind, frozenset())),
        ):
            seen: set[str] = set()
            for i, target in enumerate(links):
                if target in seen:
                    add("error", eid, f"{field} names {target} twice", field, i)
                seen.add(target)
                if target == eid:
                    add("error", eid, f"{field} names the element itself", field, i)
                    continue
                if target not in ids:
                    add("error", eid, f"{field} names {target}, which does not exist", field, i)
                    continue
                there = case.type_of(target)
                if not allowed:
                    add("error", eid, f"a {kind} cannot have {field} (it links to {target})",
                        field, i)
                elif there not in allowed:
                    names = ", ".join(sorted(t.value for t in allowed))
                    add("error", eid, f"{field} links to {target}, a {there}; a {kind}'s "
                        f"{field} may only name: {names}", field, i)
        for i, target in enumerate(el.challenges):
            if kind not in (CG, CSN):
                add("error", eid, f"a {kind} cannot challenge; a defeater is a counter-goal (CG, "
                    "nodeType CounterGoal) or counter-solution (CSn)", "challenges", i)
            elif target == eid:
                add("error", eid, "challenges itself", "challenges", i)
            elif target not in ids:
                add("error", eid, f"challenges {target}, which does not exist", "challenges", i)
        if el.defeated and not case.challengers(eid):
            add("error", eid, "is marked defeated but nothing challenges it", "defeated")
        if el.undeveloped and kind not in ARGUED:
            add("error", eid, f"a {kind} cannot be undeveloped", "undeveloped")
        if el.undeveloped and el.supported_by:
            add("error", eid, "is marked undeveloped but has supportedBy", "undeveloped")
        if kind in ARGUED and not el.supported_by and not el.undeveloped:
            add("error", eid, f"this {kind} is neither supported (supportedBy) nor marked "
                "`undeveloped: true`")
        if not el.text.strip():
            add("warning", eid, "has no text")
        if el.evidence is not None:
            if kind not in EVIDENCE:
                add("error", eid, f"x-evidence belongs on solutions (Sn, CSn), not on a {kind}",
                    "x-evidence")
            else:
                try:
                    parse_path(el.evidence.metric)
                except ValueError as exc:
                    add("error", eid, str(exc), "x-evidence", "metric")
        elif kind is SN:
            add("warning", eid, "solution without x-evidence: it evaluates as undecided")
        if el.dependence is not None:
            if kind is not S:
                add("error", eid, f"x-dependence belongs on strategies (S...), not on a {kind}",
                    "x-dependence")
            elif el.dependence.kind == "measured":
                if el.dependence.metric is None:
                    add("error", eid, "x-dependence kind `measured` needs a `metric`",
                        "x-dependence")
                else:
                    try:
                        parse_path(el.dependence.metric)
                    except ValueError as exc:
                        add("error", eid, str(exc), "x-dependence", "metric")
    header = case.extensions.get("x-case")
    if header is not None:
        version = header.get("version") if isinstance(header, dict) else None
        if not isinstance(header, dict) or not isinstance(version, int):
            problems.append(Problem(severity="error", element=None, file=file,
                                    line=positions.of("x-case"),
                                    message="x-case needs an integer `version`"))
        elif version > FORMAT_VERSION:
            problems.append(Problem(
                severity="error", element=None, file=file, line=positions.of("x-case"),
                message=f"x-case version {version} is newer than this autoalign's "
                        f"({FORMAT_VERSION}); upgrade autoalign"))
    problems.extend(_cycles(case, positions, file))
    goals = [i for i in ids if case.type_of(i) is G]
    referenced = {t for el in ids.values() for t in [*el.supported_by, *el.in_context_of]}
    challengers = {i for i, el in ids.items() if el.challenges}
    roots = [g for g in goals if g not in referenced and g not in challengers]
    if not goals:
        problems.append(Problem(severity="error", element=None, line=1, file=file,
                                message="the case has no goal (G...)"))
    elif not roots:
        problems.append(Problem(severity="error", element=None, line=1, file=file,
                                message="no top-level goal: every goal supports another"))
    elif len(roots) > 1:
        problems.append(Problem(severity="warning", element=roots[1], file=file,
                                line=positions.of(roots[1]),
                                message=f"more than one top-level goal: {', '.join(roots)}"))
    for eid in ids:
        if case.type_of(eid) is not G and eid not in referenced and eid not in challengers:
            add("warning", eid, "not referenced by any element")
    return sorted(problems, key=lambda p: (p.severity != "error", p.line))


def _cycles(case: Case, positions: Positions, file: str) -> list[Problem]:
    """A problem per cycle through supportedBy, inContextOf or challenges (a challenger is
    evaluated before what it challenges), named by the first element on it."""
    edges: dict[str, list[str]] = {
        eid: [t for t in [*el.supported_by, *el.in_context_of] if t in case.elements]
        for eid, el in case.elements.items()
    }
    for eid, el in case.elements.items():
        for target in el.challenges:
            if target in case.elements:
                edges[target].append(eid)
    state: dict[str, int] = {}
    found: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    found.append(Problem(
                        severity="error", element=nxt, line=positions.of(nxt), file=file,
                        message="cycle: " + " -> ".join([*cycle, nxt]),
                    ))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for eid in case.elements:
        if eid not in state:
            visit(eid, [])
    return found


__all__ = ["ARGUED", "EVIDENCE", "IN_CONTEXT_OF", "SUPPORTED_BY", "check"]
