"""Storing a sandbox run in the research database as a `sandbox_run` artifact."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._models import SandboxRun

if TYPE_CHECKING:
    from autoalign.store import ArtifactRecord, Store

ARTIFACT_KIND = "sandbox_run"
STAGE = "execute"
SUMMARY_OUTPUT_CHARS = 4000
"""Characters of stdout and of stderr (each) shown in the readable summary."""


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


def record_run(
    store: Store,
    *,
    run_id: int | None,
    sandbox_run: SandboxRun,
    parents: Sequence[int] = (),
    step_key: str | None = None,
) -> ArtifactRecord:
    """Store a sandbox run as an artifact of kind `sandbox_run` in stage `execute`.

    `content_text` is a readable summary; `content_json` the full record (non-finite numbers as
    strings, see `SandboxRun`). With a `step_key` that
    the run already has, the existing artifact is returned and nothing is written.
    """
    ended = sandbox_run.killed_by or f"exit {sandbox_run.exit_code}"
    return store.add_artifact(
        run_id=run_id,
        kind=ARTIFACT_KIND,
        stage=STAGE,
        content_text=summarize(sandbox_run),
        content_json=json.loads(sandbox_run.model_dump_json()),
        step_key=step_key,
        title=f"sandbox {sandbox_run.kind} run ({sandbox_run.isolation}, {ended})",
        status="ok" if sandbox_run.ok else "failed",
        parents=list(parents),
    )
