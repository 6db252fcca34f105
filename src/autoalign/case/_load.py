"""Reading a case file with ruamel.yaml, keeping the line of every element, key and list item,
so that every problem the checks find names the element and its place in the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ._model import Case, Element, Module, element_type

Severity = Literal["error", "warning"]


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong (or suspicious) in a case file."""

    severity: Severity
    element: str | None
    """The element's id, or None for the file as a whole."""
    line: int
    """1-based line in the file (0 when unknown)."""
    message: str
    file: str = "<case>"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" element {self.element}:" if self.element else ""
        return f"{where}: {self.severity}:{who} {self.message}"


@dataclass
class Positions:
    """1-based lines of what a case file holds, by (element, key, item)."""

    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def of(self, *path: str | int) -> int:
        """The line of the most specific known part of `path` (0 if nothing is known)."""
        parts = tuple(str(p) for p in path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return 0


@dataclass
class Loaded:
    """A case file read: the model when it could be built, the positions, and the problems."""

    file: str
    case: Case | None
    positions: Positions
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """No error (warnings allowed)."""
        return self.case is not None and not any(p.severity == "error" for p in self.problems)


def _record_positions(data: Any, positions: Positions) -> None:
    lc = getattr(data, "lc", None)
    if lc is None or not isinstance(data, dict):
        return
    for key, value in data.items():
        line, _col = lc.key(key)
        positions.lines[(str(key),)] = line + 1
        vlc = getattr(value, "lc", None)
        if isinstance(value, dict) and vlc is not None:
            for sub, subvalue in value.items():
                positions.lines[(str(key), str(sub))] = vlc.key(sub)[0] + 1
                slc = getattr(subvalue, "lc", None)
                if isinstance(subvalue, list) and slc is not None:
                    for i in range(len(subvalue)):
                        positions.lines[(str(key), str(sub), str(i))] = slc.item(i)[0] + 1
                elif isinstance(subvalue, dict) and slc is not None:
                    for k in subvalue:
                        positions.lines[(str(key), str(sub), str(k))] = slc.key(k)[0] + 1


def _plain(data: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def parse_text(text: str, *, file: str = "<case>") -> Loaded:
    """Parse a case file's text; problems (YAML errors, unknown ids, bad fields) are collected,
    not raised. Structural checks are `check`'s."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="rt")
    positions = Positions()
    problems: list[Problem] = []
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:  # duplicate keys (ids) among them
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        reason = " ".join(str(exc.problem or exc).split())
        if "duplicate key" in reason:
            reason = f"duplicate id or key: {reason} (every element id must be unique)"
        problems.append(Problem(severity="error", element=None, line=line, message=reason,
                                file=file))
        return Loaded(file=file, case=None, positions=positions, problems=problems)
    if not isinstance(data, dict):
        problems.append(Problem(severity="error", element=None, line=1, file=file,
                                message="a case file is a mapping of element ids to elements"))
        return Loaded(file=file, case=None, positions=positions, problems=problems)
    _record_positions(data, positions)
    plain = _plain(data)
    elements: dict[str, Element] = {}
    module: Module | None = None
    extensions: dict[str, Any] = {}
    for key, value in plain.items():
        line = positions.of(key)
        if key == "module":
            try:
                module = Module.model_validate(value)
            except ValidationError as exc:
                problems.append(Problem(severity="error", element=None, line=line, file=file,
                                        message=f"module: {_reason(exc)}"))
            continue
        if key.startswith("x-"):
            extensions[key] = value
            continue
        if value is None:
            value = {}
        if not isinstance(value, dict):
            problems.append(Problem(severity="error", element=key, line=line, file=file,
                                    message="an element is a mapping (with `text`)"))
            continue
        node_type = value.get("nodeType")
        if element_type(key, node_type if isinstance(node_type, str) else None) is None:
            problems.append(Problem(
                severity="error", element=key, line=line, file=file,
                message=(f"unknown nodeType {node_type!r}" if node_type is not None else
                         "unknown id prefix; ids start with G (goal), S (strategy), Sn "
                         "(solution), C (context), A (assumption), J (justification), CG "
                         "(counter-goal) or CSn (counter-solution), or set nodeType"),
            ))
            continue
        try:
            elements[key] = Element.model_validate(value)
        except ValidationError as exc:
            for error in exc.errors():
                loc = [str(p) for p in error["loc"]]
                problems.append(Problem(
                    severity="error", element=key, line=positions.of(key, *loc), file=file,
                    message=f"{'.'.join(loc) or 'element'}: {error['msg']}",
                ))
    case = Case(module=module, elements=elements, extensions=extensions)
    return Loaded(file=file, case=case, positions=positions, problems=problems)


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
    )


def load_case(path: Path) -> Loaded:
    """Read and parse the case file at `path`, then run every check on it.

    Raises:
        OSError: the file cannot be read.
    """
    from ._check import check

    loaded = parse_text(path.read_text(encoding="utf-8"), file=str(path))
    if loaded.case is not None:
        loaded.problems.extend(check(loaded.case, loaded.positions, file=loaded.file))
    return loaded


def load_text(text: str, *, file: str = "<case>") -> Loaded:
    """Parse and check a case file's text (as `load_case` does a file)."""
    from ._check import check

    loaded = parse_text(text, file=file)
    if loaded.case is not None:
        loaded.problems.extend(check(loaded.case, loaded.positions, file=loaded.file))
    return loaded


__all__ = ["Loaded", "Positions", "Problem", "Severity", "load_case", "load_text", "parse_text"]
