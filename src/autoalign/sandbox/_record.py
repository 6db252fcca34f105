"""What a sandbox run looks like as a record: a title, a readable summary and the full record.

The sandbox does not store anything: it knows neither the research database nor the pipeline's
stages and artifact kinds. `describe_run` gives the parts of a record, and the caller (e.g.
`autoalign.experiments.record_sandbox_run`) stores them under its own stage and kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._models import SandboxRun

SUMMARY_OUTPUT_CHARS = 4000
"""Characters of stdout and of stderr (each) shown in the readable summary."""


@dataclass(frozen=True, kw_only=True)
class RunDescription:
    """One sandbox run, described for storage."""

    title: str
    """A one-line title: kind, isolation level and how the run ended."""
    text: str
    """A readable summary (`summarize`)."""
    content: dict[str, Any]
    """The full record as JSON (non-finite numbers as strings, see `SandboxRun`)."""
    ok: bool
    """Whether the run exited 0 and was not killed."""


def summarize(run: SandboxRun) -> str:
    """A readable account of one run: what ran, how isolated, how it ended, what it used."""
    exit_text = "none (killed)" if run.exit_code is None else str(run.exit_code)
    limits = run.limits
    lines = [
        f"Sandbox run ({run.kind}), isolation: {run.isolation}",
        f"Exit code: {exit_text}; killed by: {run.killed_by or 'nothing'}",
        f"Resources: wall {run.wall_s:.2f} s of {limits.wall_s:g}; cpu {run.cpu_s:.2f} s of "
        f"{limits.cpu_s:g}; max RSS {run.max_rss_mb:.1f} MiB (address space limit "
        f"{limits.memory_mb} MiB); file size limit {limits.file_size_mb} MiB",
        "Enforced:",
        *(f"  - {item}" for item in run.enforced),
        "Not enforced:",
        *(f"  - {item}" for item in run.not_enforced),
        f"Files ({len(run.files)}):",
        *(f"  - {f.path} ({f.size} bytes, sha256 {f.sha256[:12]})" for f in run.files[:50]),
    ]
    if len(run.files) > 50:
        lines.append(f"  ... and {len(run.files) - 50} more")
    if run.result is not None:
        lines.append("Result record: present and valid")
    elif run.result_error:
        lines.append(f"Result record: rejected: {run.result_error}")
    else:
        lines.append("Result record: none")
    for name, text, size in (
        ("stdout", run.stdout, run.stdout_bytes),
        ("stderr", run.stderr, run.stderr_bytes),
    ):
        shown = (
            text
            if len(text) <= SUMMARY_OUTPUT_CHARS
            else (
                text[: SUMMARY_OUTPUT_CHARS // 2]
                + "\n[... cut in this summary; the full record keeps more ...]\n"
                + text[-SUMMARY_OUTPUT_CHARS // 2 :]
            )
        )
        lines += [f"--- {name} ({size} bytes) ---", shown.rstrip("\n")]
    return "\n".join(lines) + "\n"


def describe_run(run: SandboxRun) -> RunDescription:
    """The title, readable summary and full JSON record of one run."""
    ended = run.killed_by or f"exit {run.exit_code}"
    return RunDescription(
        title=f"sandbox {run.kind} run ({run.isolation}, {ended})",
        text=summarize(run),
        content=json.loads(run.model_dump_json()),
        ok=run.ok,
    )
