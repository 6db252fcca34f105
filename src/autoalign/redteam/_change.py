"""What an injector changed: one field of a subject, before and after, and the tampered copy.

A subject (an `ExecutedStep`, a `PaperDraft`, a `Corpus`) is a pydantic model. A field is named
by its dotted path in the subject's `model_dump()` (`log.rows.3.value`, `sections.2.text`,
`code.source`); a change to a text field names the span it replaced in the clean text. The
tampered copy is rebuilt from the clean one's dump with only that path changed, so nothing
else (no key, no id, no marker) differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from ._flaws import FlawType, Where

S = TypeVar("S", bound=BaseModel)

Method = Literal["programmatic", "llm"]
"""How an injection was made: by a rule in code, or by the `red-team` model."""


@dataclass(frozen=True, kw_only=True)
class Change:
    """Exactly what an injection changed, and where."""

    flaw_type: str
    """The flaw type's id."""
    where: Where
    """Where the flaw lives (`execution`, `paper`, `corpus`)."""
    method: Method
    """`programmatic` or `llm`."""
    artifact_id: int | None
    """The artifact the changed field belongs to (a critic's finding must point at it)."""
    field: str
    """Dotted path of the changed value in the subject's dump (`sections.2.text`); a path one
    past the end of a list (`log.rows.12`) is an appended item."""
    start: int | None
    """For a text field: the start of the replaced span in the clean text."""
    end: int | None
    """For a text field: the end (exclusive) of the replaced span in the clean text."""
    before: str
    """The replaced text (a text field), else the value's JSON ('' for an appended item)."""
    after: str
    """The new text, else the new value's JSON."""
    description: str
    """What was done, in one sentence."""

    @property
    def span(self) -> tuple[int, int] | None:
        """The replaced span of the clean text, for a text field."""
        return (self.start, self.end) if self.start is not None and self.end is not None else None

    def lines(self, clean_text: str) -> tuple[int, int] | None:
        """The first and last line (1-based) of the new text in the tampered text field."""
        if self.start is None:
            return None
        first = clean_text.count("\n", 0, self.start) + 1
        return first, first + max(self.after.rstrip("\n").count("\n"), 0)


@dataclass(frozen=True, kw_only=True)
class Injected(Generic[S]):
    """A tampered copy of a clean subject and the one change that made it."""

    subject: S
    """The tampered copy (what critics are shown)."""
    change: Change
    """What changed, and where."""


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def get_path(data: Any, path: str) -> Any:
    """The value at dotted `path` of a dumped model (lists indexed by number).

    Raises:
        KeyError: the path does not exist.
    """
    node = data
    for part in _parts(path):
        if isinstance(part, int):
            if not isinstance(node, list | tuple) or part >= len(node):
                raise KeyError(path)
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                raise KeyError(path)
            node = node[part]
    return node


def _set(node: Any, parts: list[str | int], value: Any) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(head, int):
        items = list(node)
        if head == len(items) and not rest:
            return [*items, value]
        items[head] = _set(items[head], rest, value)
        return items
    out = dict(node)
    out[head] = _set(out[head], rest, value)
    return out


def with_value(subject: S, path: str, value: Any) -> S:
    """A copy of `subject` whose value at `path` is `value` (an index one past a list's end
    appends), validated as the subject's type."""
    data = subject.model_dump(mode="python")
    return type(subject).model_validate(_set(data, _parts(path), value))


def dumps(value: Any) -> str:
    """A value's JSON, as `Change.before` and `after` hold it."""
    return json.dumps(value, sort_keys=True, default=str)


def replace_text(
    subject: S, ft: FlawType, *, artifact_id: int | None, path: str, start: int, end: int,
    new: str, description: str, method: Method = "programmatic",
) -> Injected[S]:
    """Replace `[start:end]` of the text at `path` with `new`."""
    text = get_path(subject.model_dump(mode="python"), path)
    if not isinstance(text, str):
        raise TypeError(f"{path} of a {type(subject).__name__} is not text")
    tampered = with_value(subject, path, text[:start] + new + text[end:])
    return Injected(subject=tampered, change=Change(
        flaw_type=ft.id, where=ft.where, method=method, artifact_id=artifact_id, field=path,
        start=start, end=end, before=text[start:end], after=new, description=description,
    ))


def replace_value(
    subject: S, ft: FlawType, *, artifact_id: int | None, path: str, value: Any,
    description: str, method: Method = "programmatic",
) -> Injected[S]:
    """Set the value at `path` (or append it, one past a list's end) to `value`."""
    data = subject.model_dump(mode="python")
    try:
        before = dumps(get_path(data, path))
    except KeyError:
        before = ""
    tampered = with_value(subject, path, value)
    return Injected(subject=tampered, change=Change(
        flaw_type=ft.id, where=ft.where, method=method, artifact_id=artifact_id, field=path,
        start=None, end=None, before=before, after=dumps(value), description=description,
    ))


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a dumped model as (dotted path, value)."""
    if isinstance(data, dict):
        if not data and prefix:
            yield prefix, {}
        for key, value in data.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list | tuple):
        if not data and prefix:
            yield prefix, []
        for i, value in enumerate(data):
            yield from flatten(value, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, data


def changed_paths(clean: BaseModel, tampered: BaseModel) -> set[str]:
    """The leaf paths at which two subjects' dumps differ."""
    a = dict(flatten(clean.model_dump(mode="python")))
    b = dict(flatten(tampered.model_dump(mode="python")))
    return {p for p in a.keys() | b.keys() if a.get(p, object()) != b.get(p, object())}


def within(path: str, field: str) -> bool:
    """`path` is `field` or lies under it."""
    return path == field or path.startswith(field + ".")


__all__ = [
    "Change",
    "Injected",
    "Method",
    "changed_paths",
    "dumps",
    "flatten",
    "get_path",
    "replace_text",
    "replace_value",
    "with_value",
    "within",
]
