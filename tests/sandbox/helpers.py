"""Helpers of the sandbox tests."""

from __future__ import annotations

import os

from autoalign.sandbox import CODE_LEVELS, IsolationLevel, Job, Limits, SandboxRun, run_code
from autoalign.sandbox._runner import execute


def where(run: SandboxRun) -> str:
    """What an assertion message says about the run: its isolation level and how it ended."""
    return (
        f"[isolation={run.isolation} exit={run.exit_code} killed_by={run.killed_by} "
        f"wall={run.wall_s}s cpu={run.cpu_s}s rss={run.max_rss_mb}MiB]\n"
        f"stdout: {run.stdout[-2000:]}\nstderr: {run.stderr[-2000:]}"
    )


def names(items: list[str]) -> set[str]:
    """The names of `enforced` / `not_enforced` entries (`name: how`)."""
    return {item.split(":", 1)[0] for item in items}


def run_at(level: IsolationLevel, source: str, *, limits: Limits | None = None) -> SandboxRun:
    """Run `source` at `level`.

    Where agent-written code may run, through `run_code` (the level is forced by the `level`
    fixture). `rlimits-only` refuses such code, but experiment specs still run there under its
    limits, and its record must still tell the truth: so the tests drive the private runner with
    code there, to check what that level does and does not enforce.
    """
    limits = limits or Limits()
    if level in CODE_LEVELS:
        run = run_code(source, limits=limits)
        assert run.isolation == level
        return run
    return execute(Job(kind="code", payload=source, limits=limits), level)


def alive_with_arg(marker: str) -> list[int]:
    """Host processes whose command line holds `marker`."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        pids.append(int(name))
            except OSError:
                continue
    return pids
