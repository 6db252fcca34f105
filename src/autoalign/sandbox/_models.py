"""The records of the sandbox: limits, jobs, produced files and the record of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IsolationLevel = Literal["bwrap", "namespaces", "rlimits-only"]
"""How strongly a run is isolated, strongest first (see `docs/sandbox.md`)."""

ISOLATION_LEVELS: tuple[IsolationLevel, ...] = ("bwrap", "namespaces", "rlimits-only")

RecordedIsolation = Literal["bwrap", "namespaces", "netns", "rlimits-only"]
"""An isolation level as a record states it. `netns` (a network namespace on the host's
filesystem) is no longer used; records made with it stay readable and keep their own lists."""

JobKind = Literal["spec", "code"]

KilledBy = Literal["wall_timeout", "cpu_limit", "memory_limit", "file_size_limit", "signal"]


class Limits(BaseModel):
    """Resource limits of one sandboxed run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_s: float = Field(default=30, gt=0)
    """Wall-clock seconds before the whole process group is killed (SIGKILL)."""
    cpu_s: float = Field(default=30, gt=0)
    """CPU seconds per process (RLIMIT_CPU soft limit: SIGXCPU; SIGKILL one second later)."""
    memory_mb: int = Field(default=1024, gt=0)
    """Address space per process in MiB (RLIMIT_AS); under bwrap also the private /tmp's size."""
    file_size_mb: int = Field(default=64, gt=0)
    """Largest file a process may write, in MiB (RLIMIT_FSIZE)."""
    processes: int = Field(default=256, gt=0)
    """Processes and threads the run may have at once (RLIMIT_NPROC in the run's own user
    namespace); enforced at `namespaces` only (see `SandboxRun.enforced`)."""
    max_output_bytes: int = Field(default=64_000, ge=0)
    """Bytes kept of stdout and of stderr each (head and tail); the full sizes are recorded."""
    max_file_text_bytes: int = Field(default=8_000, ge=0)
    """Produced UTF-8 text files up to this size keep their content in the record; 0 keeps none."""


class ProducedFile(BaseModel):
    """A regular file the run left in its work folder."""

    model_config = ConfigDict(frozen=True)

    path: str
    """Path relative to the work folder, with `/` separators."""
    size: int
    """Size in bytes."""
    sha256: str
    """Hex sha256 of the content."""
    text: str | None = None
    """The content, for small UTF-8 text files (see `Limits.max_file_text_bytes`)."""


class SandboxRun(BaseModel):
    """The record of one sandboxed run.

    As JSON, NaN and infinities (a one-seed result has a NaN standard error) become the strings
    "NaN", "Infinity" and "-Infinity": strict JSON and PostgreSQL's JSONB have no such numbers,
    and pydantic reads the strings back as floats.
    """

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="strings")

    kind: JobKind
    """`spec`: a structured experiment spec; `code`: worker-written Python source."""
    isolation: RecordedIsolation
    """The isolation level the run had (`bwrap`, `namespaces` or `rlimits-only`)."""
    enforced: list[str]
    """What was enforced, each as `name: how` (e.g. `network: new empty network namespace`)."""
    not_enforced: list[str]
    """What was not enforced, each as `name: why`."""
    exit_code: int | None
    """The exit code; `-N` when killed by signal N; None when killed at the wall-clock limit."""
    killed_by: KilledBy | None
    """Which limit stopped the run, if one did."""
    stdout: str
    """Standard output, cut to `max_output_bytes` (head and tail) when longer."""
    stderr: str
    """Standard error, cut the same way."""
    stdout_bytes: int
    """Full size of standard output in bytes."""
    stderr_bytes: int
    """Full size of standard error in bytes."""
    wall_s: float
    """Wall-clock seconds from start to exit."""
    cpu_s: float
    """CPU seconds (user + system) of the process tree, as far as it was measured."""
    max_rss_mb: float
    """Largest resident set of any one process, in MiB."""
    files: list[ProducedFile]
    """Regular files left in the work folder, sorted by path."""
    result: dict[str, Any] | None
    """The experiment result record (`ExperimentResult` as JSON), if one was produced and valid."""
    result_error: str | None = None
    """Why a `result.json` that was produced was not accepted, or why a spec run gave none."""
    limits: Limits = Field(default_factory=Limits)
    """The limits the run had."""

    @property
    def ok(self) -> bool:
        """Exited 0 on its own, and any result it wrote was valid."""
        return self.exit_code == 0 and self.killed_by is None and self.result_error is None


@dataclass(frozen=True)
class Job:
    """One unit of sandboxed work, as a backend receives it."""

    kind: JobKind
    """`spec` or `code`."""
    payload: str
    """The experiment spec as JSON (`spec`), or Python source (`code`)."""
    limits: Limits = field(default_factory=Limits)
    """Resource limits of the run."""
