"""What an erasure keeps of a detailed log: a short summary made without a model, the same for
the erasure (`_erasure`) and for the A/B view of what critics lose (`_erasure_view`).

Per kind (`docs/learning.md` lists the same):

- `sandbox_run`: everything but the output. Kept: job kind, isolation, what was and was not
  enforced, limits, exit code, what killed it, wall and CPU seconds, peak memory, the output's
  sizes, the number of files, the result's spec, testbed version, means, standard errors and
  seconds, and why a result was rejected. Dropped: stdout, stderr, the files' list, the
  per-seed metrics and the resolved knob values.
- `step_log`: the task, attempts, error, each run (artifact, arm, ok, who asked, code) without
  its error text, the rows of means (seed None) and, per run, how many seeds it logged.
  Dropped: the per-seed rows and the runs' error texts.
- `worker_code`: the number of lines, the modules imported and the functions and classes
  defined. Dropped: the source.
- `experiment_plan`: the rationale's first 200 characters and each arm's label, testbed,
  intervention, settings and number of seeds. Dropped: the seeds themselves and the rest.
- `flaw_candidates`: the instance's estimate and recommendation and each candidate's category,
  severity, section and confidence. Dropped: descriptions, quotes and the instance's summary.

Content that does not have its kind's shape (a failed step's raw reply) keeps its top-level
keys and top-level numbers only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .._text import clip
from ..vocabulary import Kind

TEXT_CHARS = 200
"""Longest text field kept in a summary."""

MAX_NAMES = 20
"""Most imported modules or defined names kept of worker code."""

_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))", re.MULTILINE)
_DEFINE = re.compile(r"^\s*(?:async\s+def|def|class)\s+(\w+)", re.MULTILINE)


def _text(value: Any) -> str | None:
    return None if value is None else clip(str(value), limit=TEXT_CHARS)


def _numbers(content: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(content.items())
            if isinstance(v, int | float) and not isinstance(v, bool)}


def _generic(content: Any) -> dict[str, Any]:
    if not isinstance(content, dict):
        return {"shape": type(content).__name__}
    return {"keys": sorted(str(k) for k in content), "numbers": _numbers(content)}


def _sandbox(c: dict[str, Any]) -> dict[str, Any]:
    result = c.get("result")
    kept_result = None
    if isinstance(result, dict):
        kept_result = {k: result[k] for k in ("spec", "testbed_version", "mean", "se", "seconds")
                       if k in result}
        kept_result["seeds_run"] = len(result.get("per_seed") or [])
    files = c.get("files")
    return {
        "kind": c.get("kind"), "isolation": c.get("isolation"),
        "enforced": list(c.get("enforced") or []),
        "not_enforced": list(c.get("not_enforced") or []),
        "exit_code": c.get("exit_code"), "killed_by": c.get("killed_by"),
        "stdout_bytes": c.get("stdout_bytes", 0), "stderr_bytes": c.get("stderr_bytes", 0),
        "wall_s": c.get("wall_s", 0.0), "cpu_s": c.get("cpu_s", 0.0),
        "max_rss_mb": c.get("max_rss_mb", 0.0),
        "files": len(files) if isinstance(files, list) else 0,
        "result": kept_result, "result_error": _text(c.get("result_error")),
        **({"limits": c["limits"]} if isinstance(c.get("limits"), dict) else {}),
    }


def _step_log(c: dict[str, Any]) -> dict[str, Any]:
    rows = [r for r in c.get("rows") or [] if isinstance(r, dict)]
    seeds: dict[str, set[int]] = {}
    for r in rows:
        if r.get("seed") is not None:
            seeds.setdefault(str(r.get("run")), set()).add(int(r["seed"]))
    return {
        "task": c.get("task"), "attempts": c.get("attempts"), "error": _text(c.get("error")),
        "runs": [{k: r.get(k) for k in ("artifact_id", "arm", "ok", "via", "code")}
                 for r in c.get("runs") or [] if isinstance(r, dict)],
        "rows": [r for r in rows if r.get("seed") is None],
        "seeds": {run: len(s) for run, s in sorted(seeds.items())},
        "rows_logged": len(rows),
    }


def _code(c: dict[str, Any]) -> dict[str, Any]:
    source = str(c.get("source", ""))
    imports: set[str] = set()
    for frm, names in _IMPORT.findall(source):
        if frm:
            imports.add(frm)
        else:
            imports.update(n.split(" as ")[0].strip() for n in names.split(",") if n.strip())
    return {
        "lines": len(source.splitlines()),
        "imports": sorted(imports)[:MAX_NAMES],
        "defines": list(dict.fromkeys(_DEFINE.findall(source)))[:MAX_NAMES],
    }


def _plan(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "rationale": _text(c.get("rationale")),
        "arms": [
            {"label": a.get("label"), "testbed": a.get("testbed"),
             "intervention": a.get("intervention"), "settings": a.get("settings") or [],
             "seeds": len(a.get("seeds") or [])}
            for a in c.get("arms") or [] if isinstance(a, dict)
        ],
    }


def _candidates(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "severe_flaw_percent": c.get("severe_flaw_percent"),
        "recommendation": c.get("recommendation"),
        "flaws": [
            {k: f.get(k) for k in ("category", "severity", "section", "confidence_percent")}
            for f in c.get("flaws") or [] if isinstance(f, dict)
        ],
    }


_SHAPES: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    Kind.SANDBOX_RUN: ("exit_code", _sandbox),
    Kind.STEP_LOG: ("rows", _step_log),
    Kind.WORKER_CODE: ("source", _code),
    Kind.EXPERIMENT_PLAN: ("arms", _plan),
    Kind.FLAW_CANDIDATES: ("flaws", _candidates),
}


def summarize(kind: str, content_json: Any) -> dict[str, Any]:
    """The summary an erasure of a `kind` artifact keeps of its `content_json` (deterministic,
    JSON-ready; the module's docstring says what each kind keeps)."""
    shape = _SHAPES.get(kind)
    if shape is None or not isinstance(content_json, dict) or shape[0] not in content_json:
        return {"kind": kind, **_generic(content_json)}
    return {"kind": kind, **shape[1](content_json)}


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return str(value)


def render_summary(summary: dict[str, Any]) -> str:
    """The summary as text, one `key: value` line per field, `kind` first, then by key (the
    same text whatever order the database returns the keys in; PostgreSQL's JSONB keeps
    none)."""
    lines = []
    for key in sorted(summary, key=lambda k: (k != "kind", k)):
        value = summary[key]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{key}:")
            lines.extend("  - " + ", ".join(f"{k}={_value(item[k])}" for k in sorted(item))
                         for item in value)
        else:
            lines.append(f"{key}: {_value(value)}")
    return "\n".join(lines)


__all__ = ["MAX_NAMES", "TEXT_CHARS", "render_summary", "summarize"]
