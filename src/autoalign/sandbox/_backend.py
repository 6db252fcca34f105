"""Backends: where sandboxed jobs run. Callers hold a `Backend`; `LocalBackend` is this machine,
`RayBackend` (in `_ray`) a Ray cluster; `make_backend` picks one by name, as configuration says.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, Protocol, runtime_checkable

from autoalign.errors import ConfigError

from ._isolation import available_isolation_levels
from ._models import IsolationLevel, Job, SandboxRun
from ._runner import run_job

__all__ = ["BACKEND_KINDS", "Backend", "BackendKind", "LocalBackend", "make_backend"]

BackendKind = Literal["local", "ray"]
"""Where sandboxed jobs run: this machine's process pool, or a Ray cluster."""

BACKEND_KINDS: tuple[BackendKind, ...] = ("local", "ray")


@runtime_checkable
class Backend(Protocol):
    """Runs sandboxed jobs somewhere and hands back their records."""

    def submit(self, job: Job) -> Future[SandboxRun]:
        """Start `job`; the future gives its record."""
        ...

    def map(self, jobs: Iterable[Job]) -> list[SandboxRun]:
        """Run `jobs` (concurrently where the backend can) and return their records in order."""
        ...

    def close(self) -> None:
        """Wait for running jobs and release the backend's resources."""
        ...


class LocalBackend:
    """Runs jobs on this machine, at most `workers` at a time (default: one per CPU core).

    Each job runs in its own sandboxed child process; the pool's threads only start and wait for
    those children, so the pool bounds concurrency and nothing else.
    """

    def __init__(
        self, *, workers: int | None = None, isolation: IsolationLevel | None = None
    ) -> None:
        """Start the pool.

        Args:
            workers: jobs run at once; `os.cpu_count()` when not given.
            isolation: run every job at this level instead of the detected one (it must work
                here).

        Raises:
            ConfigError: `isolation` does not work on this machine.
        """
        if isolation is not None and isolation not in available_isolation_levels():
            raise ConfigError(
                f"isolation {isolation!r} does not work on this machine (available: "
                f"{', '.join(available_isolation_levels())}); pass one of those or None"
            )
        self.workers = workers or os.cpu_count() or 1
        self.isolation = isolation
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sandbox")

    def submit(self, job: Job) -> Future[SandboxRun]:
        return self._pool.submit(run_job, job, isolation=self.isolation)

    def map(self, jobs: Iterable[Job]) -> list[SandboxRun]:
        futures = [self.submit(job) for job in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def make_backend(
    kind: BackendKind = "local",
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    isolation: IsolationLevel | None = None,
) -> Backend:
    """The backend configuration names (`[sandbox]` in the agenda, `autoalign study --backend`).

    Args:
        kind: `local` (this machine) or `ray` (a Ray cluster).
        workers: jobs run at once; default one per core (local) or per cluster CPU (ray).
        ray_address: the cluster to join (`auto`, `host:port` or `ray://host:port`); None starts
            a local Ray instance. Only for `ray`.
        isolation: run every job at this level instead of the strongest that works.

    Raises:
        ConfigError: an unknown kind, `ray_address` without `ray`, ray not installed, or Ray not
            reachable.
    """
    if kind == "local":
        if ray_address is not None:
            raise ConfigError(
                f"a Ray address ({ray_address!r}) is set but the sandbox backend is 'local'; "
                "choose the 'ray' backend or leave the address out"
            )
        return LocalBackend(workers=workers, isolation=isolation)
    if kind == "ray":
        from ._ray import RayBackend  # Ray itself is imported only when the backend is made

        return RayBackend(address=ray_address, workers=workers, isolation=isolation)
    raise ConfigError(f"unknown sandbox backend {kind!r}; use one of {', '.join(BACKEND_KINDS)}")
