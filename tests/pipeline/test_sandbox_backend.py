"""The execute stage's experiments go through the run's sandbox backend, made once per run from
the agenda's `[sandbox]` section and closed when the run ends."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from autoalign.errors import BackendError, ConfigError
from autoalign.pipeline import _orchestrator, run_agenda
from autoalign.sandbox import Job, LocalBackend, SandboxRun, make_backend
from autoalign.store import Store

from .conftest import Team
from .test_run import agenda


class RecordingBackend:
    """A local backend that notes every job it is given, and whether it was closed."""

    def __init__(self, *, lose_jobs: bool = False) -> None:
        self.inner = LocalBackend(workers=1)
        self.jobs: list[Job] = []
        self.closed = 0
        self.lose_jobs = lose_jobs

    def submit(self, job: Job) -> Future[SandboxRun]:
        self.jobs.append(job)
        if self.lose_jobs:
            lost: Future[SandboxRun] = Future()
            lost.set_exception(BackendError("Ray lost a sandboxed spec job (test)"))
            return lost
        return self.inner.submit(job)

    def map(self, jobs: Iterable[Job]) -> list[SandboxRun]:
        return [self.submit(job).result() for job in jobs]

    def close(self) -> None:
        self.closed += 1
        self.inner.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _install(
    monkeypatch: pytest.MonkeyPatch, backend: RecordingBackend
) -> list[dict[str, Any]]:
    """Make the orchestrator use `backend`; the arguments it was made with are collected."""
    made: list[dict[str, Any]] = []

    def factory(kind: str, **options: Any) -> RecordingBackend:
        made.append({"kind": kind, **options})
        return backend

    monkeypatch.setattr(_orchestrator, "make_backend", factory)
    return made


async def test_the_runs_experiments_are_jobs_of_its_configured_backend(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script, model = team
    backend = RecordingBackend()
    made = _install(monkeypatch, backend)
    summary = await run_agenda(agenda(model, sandbox={"workers": 3}), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    assert made == [{"kind": "local", "workers": 3, "ray_address": None}]  # once per run
    assert backend.closed == 1
    runs = store.artifacts(run_id=summary.run.id, kind="sandbox_run")
    assert len(runs) == 2
    # Every stored sandbox run is the record of a job the backend ran: the plan's two arms.
    assert [j.kind for j in backend.jobs] == ["spec", "spec"]
    ran = sorted(json.loads(j.payload)["intervention"] or "" for j in backend.jobs)
    stored = sorted(r.content_json["result"]["spec"]["intervention"] or "" for r in runs)
    assert ran == stored == ["", "repeat_penalty"]


async def test_a_job_the_backend_loses_fails_the_run_which_resumes_and_runs_it(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script, model = team
    losing = RecordingBackend(lose_jobs=True)
    _install(monkeypatch, losing)
    first = await run_agenda(agenda(model), store=store)
    assert first.run.status == "failed"
    assert "Ray lost a sandboxed spec job" in (first.run.stop_reason or "")
    assert losing.jobs and losing.closed == 1
    assert store.artifacts(run_id=first.run.id, kind="sandbox_run") == []  # nothing recorded

    working = RecordingBackend()
    _install(monkeypatch, working)
    again = await run_agenda(agenda(model), store=store)
    assert again.run.id == first.run.id and again.run.status == "completed"
    assert len(working.jobs) == 2
    assert len(store.artifacts(run_id=again.run.id, kind="sandbox_run")) == 2


def test_the_default_local_backend_runs_one_job_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    default = make_backend()
    sized = make_backend("local", workers=1)
    try:
        assert isinstance(default, LocalBackend) and default.workers == 3
        assert isinstance(sized, LocalBackend) and sized.workers == 1
    finally:
        default.close()
        sized.close()


async def test_a_ray_backend_without_ray_stops_the_run_before_anything_is_written(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script, model = team
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as when not installed
    with pytest.raises(ConfigError) as caught:
        await run_agenda(agenda(model, sandbox={"backend": "ray"}), store=store)
    assert "pip install 'autoalign[ray]'" in str(caught.value)
    assert store.list_runs() == []
