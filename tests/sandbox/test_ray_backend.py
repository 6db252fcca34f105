"""The Ray backend gives the same records as the local backend, for jobs and for a whole run.

Skipped when ray is not installed (`pip install -e '.[test,ray]'` installs it). One local Ray
instance (two CPUs, no dashboard) serves the whole module; every backend here joins it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

# Before ray is imported: its local instance then listens on the loopback address only.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray")

from autoalign.errors import BackendError  # noqa: E402
from autoalign.models import register_script  # noqa: E402
from autoalign.pipeline import run_agenda  # noqa: E402
from autoalign.sandbox import (  # noqa: E402
    Backend,
    IsolationLevel,
    Job,
    Limits,
    LocalBackend,
    RayBackend,
    SandboxRun,
    make_backend,
)
from autoalign.sandbox import _ray as ray_module  # noqa: E402
from autoalign.store import Store  # noqa: E402
from autoalign.testbeds import ExperimentSpec  # noqa: E402

from ..pipeline.conftest import Team  # noqa: E402
from ..pipeline.test_run import agenda  # noqa: E402
from .helpers import where  # noqa: E402

TIMINGS = ("wall_s", "cpu_s", "max_rss_mb")
"""Fields of a record that measure the run rather than say what it did."""


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def backend(ray_instance: None) -> Iterator[RayBackend]:
    with RayBackend() as b:
        yield b


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A record as JSON without its timings: the run's, the result's own `seconds`, and so the
    bytes of `result.json` (whose content is compared as `result`)."""
    kept = {k: v for k, v in body.items() if k not in TIMINGS}
    if isinstance(kept.get("result"), dict):
        kept["result"] = {k: v for k, v in kept["result"].items() if k != "seconds"}
    kept["files"] = [
        {"path": f["path"]} if f["path"] == "result.json" else f for f in kept["files"]
    ]
    return kept


SPEC = ExperimentSpec(testbed="reward_hacking", intervention="repeat_penalty", seeds=[0, 1])
JOBS = {
    "spec": Job(kind="spec", payload=SPEC.model_dump_json()),
    "code": Job(
        kind="code",
        payload=(
            "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\n"
            "open('out.txt', 'w').write('made here')\n"
        ),
    ),
    "over a limit": Job(
        kind="code",
        payload="chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n",
        limits=Limits(memory_mb=256, wall_s=20),
    ),
    "raises": Job(kind="code", payload="raise ValueError('the code failed')\n"),
}


def test_ray_backend_is_a_backend_and_joins_the_running_instance(backend: RayBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.workers == 2  # the instance's CPUs, one job each
    backend.close()
    assert ray.is_initialized()  # a connection the backend did not open stays open


def test_the_same_jobs_give_the_same_records_as_on_the_local_backend(
    backend: RayBackend, best: IsolationLevel
) -> None:
    with LocalBackend() as local:
        expected = local.map(JOBS.values())
    got = backend.map(JOBS.values())
    for name, here, there in zip(JOBS, expected, got, strict=True):
        assert isinstance(there, SandboxRun)
        assert comparable(there.model_dump(mode="json")) == comparable(
            here.model_dump(mode="json")
        ), f"{name}: {where(there)}"
    spec, code, over, raised = got
    # What the records say, so that equal records cannot both be wrong.
    assert spec.ok and spec.isolation == best and spec.result is not None, where(spec)
    assert spec.result["spec"]["seeds"] == [0, 1]
    assert code.ok and code.stdout == "to stdout\n" and code.stderr == "to stderr\n", where(code)
    assert [(f.path, f.text) for f in code.files] == [("out.txt", "made here")]
    assert over.killed_by == "memory_limit", where(over)
    assert raised.exit_code == 1 and raised.killed_by is None, where(raised)
    assert raised.stderr.strip().endswith("ValueError: the code failed"), where(raised)


def test_a_job_that_raises_in_the_runner_raises_the_same_exception(backend: RayBackend) -> None:
    job = Job(kind="code", payload="print('\udc80')")  # not encodable: run_job raises
    with LocalBackend(workers=1) as local:
        expected = local.submit(job).exception(timeout=60)
    got = backend.submit(job).exception(timeout=120)
    assert isinstance(expected, UnicodeEncodeError)
    assert type(got) is type(expected) and str(got) == str(expected)


def test_map_keeps_the_order_of_the_jobs(backend: RayBackend) -> None:
    jobs = [
        Job(kind="code", payload=f"import time\ntime.sleep({0.4 * (5 - i)})\nprint({i})\n")
        for i in range(5)
    ]
    runs = backend.map(jobs)
    assert [r.stdout for r in runs] == [f"{i}\n" for i in range(5)]


def test_a_job_whose_worker_dies_is_an_error_not_a_hang(backend: RayBackend) -> None:
    def die(_job: Job, _isolation: IsolationLevel | None) -> SandboxRun:
        os._exit(1)  # the Ray worker process dies, as when a node goes down

    backend._task = ray.remote(num_cpus=1, max_retries=0)(die)
    future = backend.submit(Job(kind="code", payload="print('never')"))
    error = future.exception(timeout=120)
    assert isinstance(error, BackendError)
    assert "Ray lost a sandboxed code job" in str(error)
    assert "running the same work again runs it again" in str(error)


def test_a_job_that_does_not_come_back_in_time_is_an_error(ray_instance: None) -> None:
    def stall(_job: Job, _isolation: IsolationLevel | None) -> SandboxRun:
        import time

        time.sleep(600)
        raise AssertionError("not reached")

    with RayBackend(margin_s=1) as backend:
        backend._task = ray.remote(num_cpus=1, max_retries=0)(stall)
        future: Future[SandboxRun] = backend.submit(
            Job(kind="code", payload="", limits=Limits(wall_s=1))
        )
        error = future.exception(timeout=120)
    assert isinstance(error, BackendError)
    assert "within 2 s (its wall-clock limit of 1 s plus a margin of 1 s)" in str(error)


def test_make_backend_makes_a_ray_backend(ray_instance: None) -> None:
    made = make_backend("ray", workers=1)
    try:
        assert isinstance(made, RayBackend) and made.workers == 1
    finally:
        made.close()
    assert ray.is_initialized()


# -- a whole run on Ray ---------------------------------------------------------------------


async def _run_with(
    tmp_path: Path, name: str, **sandbox: Any
) -> list[tuple[str, str, dict[str, Any]]]:
    """Run the scripted pipeline; its sandbox_run artifacts as (step key, status, content)."""
    team = Team()
    register_script(f"ray-{name}", team)
    store = Store.open(f"sqlite:///{tmp_path}/{name}.db")
    overrides = {"sandbox": sandbox} if sandbox else {}
    summary = await run_agenda(agenda(f"scripted:ray-{name}", **overrides), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    # The arms run concurrently and are stored as they finish, so compare them by step key.
    return sorted(
        (a.step_key or "", a.status, comparable(a.content_json))
        for a in store.artifacts(run_id=summary.run.id, kind="sandbox_run")
    )


async def test_a_run_on_the_ray_backend_stores_the_same_sandbox_runs(
    tmp_path: Path, ray_instance: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted: list[Job] = []
    original = ray_module.RayBackend.submit

    def spy(self: RayBackend, job: Job) -> Future[SandboxRun]:
        submitted.append(job)
        return original(self, job)

    monkeypatch.setattr(ray_module.RayBackend, "submit", spy)
    local = await _run_with(tmp_path, "local")
    on_ray = await _run_with(tmp_path, "ray", backend="ray")
    assert len(submitted) == len(on_ray) == 2  # the plan's two arms, both through Ray
    assert on_ray == local
    assert all(status == "ok" for _key, status, _body in on_ray)
