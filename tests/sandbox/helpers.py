"""Helpers of the sandbox tests."""

from __future__ import annotations

from autoalign.sandbox import SandboxRun


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
