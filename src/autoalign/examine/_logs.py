"""Reading experiment logs written elsewhere: JSON, CSV (or TSV) and text, each number with
where in the file it came from (the layouts are in `docs/examine.md`)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import UsageError

LogFormat = Literal["json", "csv", "text"]
"""How a log file is read."""

LOG_FORMATS: dict[str, LogFormat] = {
    ".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".txt": "text",
    ".log": "text", ".out": "text", ".md": "text",
}
"""File suffix → format; files with other suffixes in the directory are skipped."""

MAX_LOG_BYTES = 20_000_000
"""Largest log file read."""
MAX_NUMBERS = 100_000
"""Most numbers read from one directory of logs."""

ARM_KEYS = ("arm", "condition", "method", "variant", "group", "intervention", "model", "name")
"""Column or field names (case-insensitive) that name the arm a row belongs to."""
SEED_KEYS = ("seed", "random_seed", "run_seed")
"""Column or field names that hold the seed."""

_PAIR = re.compile(
    r"(?P<name>[A-Za-z_][\w./-]*)\s*[=:]\s*(?P<value>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"(?P<pct>%?)(?![\w.])"
)
_BARE = re.compile(r"(?:^|(?<=[\s(\[,;]))(?P<value>[-+]?\d+\.\d+(?:[eE][-+]?\d+)?)(?P<pct>%?)"
                   r"(?![\w]|\.\d)")


@dataclass(frozen=True, kw_only=True)
class ImportedValue:
    """One number read from a log file."""

    arm: str
    """The arm or condition ('' when the file names none)."""
    metric: str
    """The metric: a column, a field path, or the name before `=` or `:`."""
    seed: int | None
    """The seed, when the row or line gives one."""
    value: float
    """The number (a percent read as a hundredth)."""
    where: str
    """The place in the file, e.g. `results.csv line 3, column acc`."""


@dataclass(frozen=True, kw_only=True)
class ImportedLog:
    """A log file as read."""

    source: str
    """Its path relative to the logs directory."""
    format: LogFormat
    """How it was read."""
    text: str
    """Its text."""
    values: tuple[ImportedValue, ...]
    """Every number read from it, in file order."""


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    if isinstance(raw, str):
        text = raw.strip()
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            return None
        value = value / 100.0 if percent else value
    else:
        value = float(raw)
    return value if math.isfinite(value) else None


def _seed(raw: object) -> int | None:
    value = _number(raw)
    return int(value) if value is not None and value.is_integer() and value >= 0 else None


def _key(row: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    lower = {k.lower(): k for k in row}
    return next((lower[k] for k in keys if k in lower), None)


def _record(row: dict[str, Any], where: str, prefix: str = "") -> Iterator[ImportedValue]:
    """The numbers of one record: its arm and seed fields name the rest (a `metric`/`value`
    pair is one number)."""
    arm_key, seed_key = _key(row, ARM_KEYS), _key(row, SEED_KEYS)
    arm = str(row[arm_key]) if arm_key is not None else ""
    seed = _seed(row[seed_key]) if seed_key is not None else None
    lower = {k.lower(): k for k in row}
    if "metric" in lower and "value" in lower:
        value = _number(row[lower["value"]])
        if value is not None:
            yield ImportedValue(arm=arm, metric=str(row[lower["metric"]]), seed=seed,
                                value=value, where=f"{where}, field value")
        return
    for key, raw in row.items():
        if key in (arm_key, seed_key):
            continue
        if isinstance(raw, dict | list):
            yield from _walk(raw, where, f"{prefix}{key}.", arm=arm, seed=seed)
            continue
        value = _number(raw)
        if value is not None:
            yield ImportedValue(arm=arm, metric=f"{prefix}{key}", seed=seed, value=value,
                                where=f"{where}, field {prefix}{key}")


def _walk(node: Any, where: str, path: str, *, arm: str = "",
          seed: int | None = None) -> Iterator[ImportedValue]:
    """Every number under a JSON value; a list of records is read record by record."""
    if isinstance(node, dict):
        if _key(node, ARM_KEYS) is not None or _key(node, SEED_KEYS) is not None:
            yield from _record(node, f"{where} {path.rstrip('.') or 'record'}")
            return
        for key, value in node.items():
            yield from _walk(value, where, f"{path}{key}.", arm=arm, seed=seed)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, where, f"{path}{i}.", arm=arm, seed=seed)
    else:
        value = _number(node) if not isinstance(node, str) else None
        if value is not None:
            metric = path.rstrip(".")
            yield ImportedValue(arm=arm, metric=metric, seed=seed, value=value,
                                where=f"{where}, field {metric}")


def _result(data: dict[str, Any], where: str) -> Iterator[ImportedValue]:
    """An `ExperimentResult` as autoalign's sandbox writes it: per-seed rows, means, SEs."""
    spec = data.get("spec") or {}
    arm = str(spec.get("intervention") or "baseline")
    seeds = spec.get("seeds") or []
    for i, row in enumerate(data.get("per_seed") or []):
        seed = _seed(seeds[i]) if i < len(seeds) else None
        for metric, raw in (row or {}).items():
            value = _number(raw)
            if value is not None:
                yield ImportedValue(arm=arm, metric=metric, seed=seed, value=value,
                                    where=f"{where}, per_seed[{i}].{metric}")
    for part in ("mean", "se"):
        for metric, raw in (data.get(part) or {}).items():
            value = _number(raw)
            if value is not None:
                yield ImportedValue(arm=arm, metric=metric if part == "mean" else f"{metric} se",
                                    seed=None, value=value, where=f"{where}, {part}.{metric}")


def read_json(text: str, source: str) -> list[ImportedValue]:
    """Numbers of a JSON file (or JSON lines, one value a line).

    Raises:
        UsageError: the file is not valid JSON (the message gives the line).
    """
    docs: list[tuple[str, Any]] = []
    try:
        docs = [(source, json.loads(text))]
    except json.JSONDecodeError as whole:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        try:
            docs = [(f"{source} line {i + 1}", json.loads(ln)) for i, ln in enumerate(lines)]
        except json.JSONDecodeError:
            raise UsageError(
                f"log {source} is not valid JSON (line {whole.lineno}, column {whole.colno}: "
                f"{whole.msg})"
            ) from None
    found: list[ImportedValue] = []
    for where, doc in docs:
        if isinstance(doc, dict) and "per_seed" in doc and "mean" in doc:
            found.extend(_result(doc, where))
        else:
            found.extend(_walk(doc, where, ""))
    return found


def read_csv(text: str, source: str, *, delimiter: str) -> list[ImportedValue]:
    """Numbers of a CSV or TSV file with a header row.

    Raises:
        UsageError: the file has no header row.
    """
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames:
        raise UsageError(f"log {source} has no header row; the first line must name the columns")
    found: list[ImportedValue] = []
    for row in reader:
        clean = {k.strip(): v for k, v in row.items() if k is not None and v not in (None, "")}
        found.extend(_record(clean, f"{source} line {reader.line_num}"))
    return found


def read_text(text: str, source: str) -> list[ImportedValue]:
    """Numbers of a text log: `name = value` or `name: value` pairs (a `seed` pair sets the
    seed of its line's other numbers), and any other decimal number as metric `value`."""
    found: list[ImportedValue] = []
    for n, line in enumerate(text.splitlines(), start=1):
        pairs = list(_PAIR.finditer(line))
        seed = next((_seed(m.group("value")) for m in pairs
                     if m.group("name").lower() in SEED_KEYS), None)
        taken: list[tuple[int, int]] = []
        for m in pairs:
            name = m.group("name")
            if name.lower() in SEED_KEYS:
                continue
            value = _number(m.group("value") + m.group("pct"))
            if value is not None:
                found.append(ImportedValue(arm="", metric=name, seed=seed, value=value,
                                           where=f"{source} line {n}"))
                taken.append(m.span())
        for m in _BARE.finditer(line):
            if any(a <= m.start() < b for a, b in taken):
                continue
            value = _number(m.group("value") + m.group("pct"))
            if value is not None:
                found.append(ImportedValue(arm="", metric="value", seed=seed, value=value,
                                           where=f"{source} line {n}"))
    return found


def read_logs(directory: Path) -> list[ImportedLog]:
    """Every log file under `directory` (recursively, in name order) with the numbers read
    from it; files of other suffixes are skipped.

    Raises:
        UsageError: `directory` is not a directory, holds no log file, a file is not UTF-8 or
            not valid JSON, or the logs hold more than `MAX_NUMBERS` numbers.
    """
    if not directory.is_dir():
        raise UsageError(f"--logs must be a directory of log files; {directory.name!r} is not")
    logs: list[ImportedLog] = []
    total = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        fmt = LOG_FORMATS.get(path.suffix.lower())
        if fmt is None:
            continue
        source = path.relative_to(directory).as_posix()
        if path.stat().st_size > MAX_LOG_BYTES:
            raise UsageError(f"log {source} is larger than {MAX_LOG_BYTES} bytes")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"log {source} is not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start})") from None
        if fmt == "json":
            values = read_json(text, source)
        elif fmt == "csv":
            values = read_csv(text, source, delimiter="\t" if path.suffix.lower() == ".tsv"
                              else ",")
        else:
            values = read_text(text, source)
        total += len(values)
        if total > MAX_NUMBERS:
            raise UsageError(f"the logs hold more than {MAX_NUMBERS} numbers; give the "
                             "directory of the experiments the paper reports")
        logs.append(ImportedLog(source=source, format=fmt, text=text, values=tuple(values)))
    if not logs:
        raise UsageError(
            f"no log file in {directory.name!r}: logs end in "
            f"{', '.join(sorted(LOG_FORMATS))}"
        )
    return logs
