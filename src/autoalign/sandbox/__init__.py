"""The sandboxed runner: worker code and experiment specs run isolated, limited and recorded.

Every run happens in a separate process with a wall-clock timeout, CPU-time, memory and
file-size limits, a fresh work folder and an environment without secrets; agent-written code
runs only in a jail (bubblewrap, or the kernel's namespaces) with no network, a read-only
filesystem and no view of the research data or the host's processes. Every record says which
isolation level it had and what was and was not enforced. See `docs/sandbox.md`.
"""

from ._backend import BACKEND_KINDS, Backend, BackendKind, LocalBackend, make_backend
from ._isolation import (
    CODE_LEVELS,
    ISOLATION_ENV,
    available_isolation_levels,
    guarantees,
    isolation_level,
)
from ._models import (
    ISOLATION_LEVELS,
    IsolationLevel,
    Job,
    JobKind,
    KilledBy,
    Limits,
    ProducedFile,
    RecordedIsolation,
    SandboxRun,
)
from ._protocol import EXIT_BAD_PAYLOAD
from ._ray import RAY_INSTALL_HINT, RayBackend
from ._record import RunDescription, describe_run, summarize
from ._runner import DEFAULT_LIMITS, run_code, run_job, run_spec
from .report import report

__all__ = [
    "BACKEND_KINDS",
    "CODE_LEVELS",
    "DEFAULT_LIMITS",
    "EXIT_BAD_PAYLOAD",
    "ISOLATION_ENV",
    "ISOLATION_LEVELS",
    "RAY_INSTALL_HINT",
    "Backend",
    "BackendKind",
    "IsolationLevel",
    "Job",
    "JobKind",
    "KilledBy",
    "Limits",
    "LocalBackend",
    "ProducedFile",
    "RayBackend",
    "RecordedIsolation",
    "RunDescription",
    "SandboxRun",
    "available_isolation_levels",
    "describe_run",
    "guarantees",
    "isolation_level",
    "make_backend",
    "report",
    "run_code",
    "run_job",
    "run_spec",
    "summarize",
]
