"""`RayBackend`: sandboxed jobs on a Ray cluster, each run by `run_job` on the node it lands on.

A Ray task only carries the job there and the record back: on the node, `run_job` starts the
same isolated child (bubblewrap or namespaces, the same limits) as `LocalBackend` does here, and
returns the same `SandboxRun`. Ray is imported when a backend is made, never by importing the
sandbox package, so autoalign works without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from autoalign.errors import BackendError, ConfigError

from ._isolation import available_isolation_levels
from ._models import ISOLATION_LEVELS, IsolationLevel, Job, SandboxRun
from ._runner import run_job

__all__ = ["DEFAULT_MARGIN_S", "RAY_INSTALL_HINT", "RayBackend"]

RAY_INSTALL_HINT = "pip install 'autoalign[ray]'"
DEFAULT_MARGIN_S = 60.0
"""Seconds a job may take beyond its wall-clock limit (a worker's start, the child's start and
the record's way back) before the backend gives it up as lost."""


def run_on_node(job: Job, isolation: IsolationLevel | None) -> SandboxRun:
    """The Ray task: run `job` in a sandboxed child of the node this task landed on.

    Raises:
        ConfigError: `isolation` does not work on this node, or agent-written code would run at
            a level that cannot hold it (as `run_job` says).
    """
    if isolation is not None and isolation not in available_isolation_levels():
        raise ConfigError(
            f"isolation {isolation!r} does not work on this Ray node (available: "
            f"{', '.join(available_isolation_levels())}); install bubblewrap on every node or "
            "pass isolation=None to let each node use its strongest level"
        )
    return run_job(job, isolation=isolation)


def _import_ray() -> Any:
    """The `ray` module (untyped: Ray ships no type information mypy can use)."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"the Ray sandbox backend needs the ray package, which cannot be imported ({exc}); "
            f"install it with {RAY_INSTALL_HINT}, or use the local backend"
        ) from None
    return ray


class RayBackend:
    """Runs jobs as Ray tasks, each taking `num_cpus` of a node, at most `workers` at a time.

    Each task calls `run_job` on its node, so every job gets the node's own isolation (or the
    `isolation` asked for, which must work on every node) and its limits, and comes back as the
    same `SandboxRun` record the local backend gives. A task Ray loses (its worker or node died)
    or that does not come back within the job's wall-clock limit plus `margin_s` fails its future
    with `BackendError`; Ray does not retry it, and nothing waits forever.

    With `address=None` and no Ray connection in this process, a local Ray instance is started
    (and shut down by `close`); `"auto"`, `"host:port"` or `"ray://host:port"` join a running
    cluster. If this process is already connected to Ray, that connection is used and left open.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: float = 1,
        isolation: IsolationLevel | None = None,
        workers: int | None = None,
        margin_s: float = DEFAULT_MARGIN_S,
    ) -> None:
        """Connect to (or start) Ray.

        Args:
            address: None for a local instance; `"auto"`, `"host:port"` or `"ray://host:port"`
                to join a cluster.
            num_cpus: CPUs each job reserves on its node.
            isolation: run every job at this level (it must work on every node); None lets each
                node use its strongest.
            workers: jobs in flight at once; the cluster's CPUs / `num_cpus` when not given.
            margin_s: seconds a job may take beyond its wall-clock limit before it counts as
                lost.

        Raises:
            ConfigError: ray is not installed, an argument is out of range, or Ray cannot be
                started or reached at `address`.
        """
        if isolation is not None and isolation not in ISOLATION_LEVELS:
            raise ConfigError(
                f"isolation {isolation!r} is not a level; use one of "
                f"{', '.join(ISOLATION_LEVELS)} or None"
            )
        if num_cpus <= 0:
            raise ConfigError(f"num_cpus must be above 0 (got {num_cpus!r})")
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be at least 1 (got {workers!r})")
        if margin_s <= 0:
            raise ConfigError(f"margin_s must be above 0 (got {margin_s!r})")
        ray = _import_ray()
        self._ray = ray
        self.address = address
        self.num_cpus = num_cpus
        self.isolation = isolation
        self.margin_s = margin_s
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            options: dict[str, Any] = {"address": address, "logging_level": logging.WARNING}
            if address is None and not os.environ.get("RAY_ADDRESS"):
                options["include_dashboard"] = False  # only a new instance takes this option
            try:
                ray.init(**options)
            except (OSError, RuntimeError, ValueError) as exc:
                where = f"at {address!r}" if address else "as a local instance"
                raise ConfigError(
                    f"cannot start or join Ray {where}: {exc}; check the address (`ray status` "
                    "on a node of the cluster shows it) or leave it out for a local instance"
                ) from None
        self._task = ray.remote(num_cpus=num_cpus, max_retries=0)(run_on_node)
        cpus = float(ray.cluster_resources().get("CPU", 0))
        self.workers = workers or max(1, int(cpus // num_cpus))
        # The pool's threads only hand jobs to Ray and wait for them, as LocalBackend's threads
        # wait for their children: it bounds the jobs in flight, so a job's deadline starts
        # about when its task can start, not while it queues behind the others.
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sandbox-ray")

    def submit(self, job: Job) -> Future[SandboxRun]:
        return self._pool.submit(self._run, job)

    def map(self, jobs: Iterable[Job]) -> list[SandboxRun]:
        futures = [self.submit(job) for job in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self, job: Job) -> SandboxRun:
        """Run `job` as a Ray task and wait for its record (in a pool thread)."""
        ray = self._ray
        errors = ray.exceptions
        timeout = job.limits.wall_s + self.margin_s
        ref = self._task.remote(job, self.isolation)
        try:
            record = ray.get(ref, timeout=timeout)
        except errors.GetTimeoutError:
            with contextlib.suppress(errors.RayError, ValueError):  # it may have just ended
                ray.cancel(ref, force=True)
            raise BackendError(
                f"a sandboxed {job.kind} job did not come back from Ray within {timeout:g} s "
                f"(its wall-clock limit of {job.limits.wall_s:g} s plus a margin of "
                f"{self.margin_s:g} s); its worker or node may be lost. Nothing was recorded "
                "for it: running the same work again runs it again"
            ) from None
        except errors.RayTaskError as exc:
            # The job itself raised on the node (as `run_job` may, e.g. ConfigError): raise
            # that same exception here, as the local backend would.
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None
            raise BackendError(f"a sandboxed {job.kind} job failed in Ray: {exc}") from None
        except errors.RayError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise BackendError(
                f"Ray lost a sandboxed {job.kind} job ({type(exc).__name__}: {first}); its "
                "worker or node died. Nothing was recorded for it: running the same work again "
                "runs it again"
            ) from None
        if not isinstance(record, SandboxRun):
            raise BackendError(
                f"a Ray task gave {type(record).__name__}, not a SandboxRun; every node must "
                "run the same autoalign version as this process"
            )
        return record
