"""`[sandbox] backend = "queue"`: a run's experiments go through the shared work queue, and the
worker slots that take `sandbox` items run them, with the records a local run stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoalign.agenda import Agenda, load_agenda
from autoalign.cluster import Worker, run_worker_sync, submit_agenda
from autoalign.pipeline import run_agenda_sync
from autoalign.store import Store
from autoalign.vocabulary import Kind, RunStatus, WorkKind, WorkState

AGENDA = """
[run]
name = "{name}"

[models]
default = "scripted:schema"

[models.providers.scripted]
concurrency = 1

[pipeline]
ideas_per_topic = 1
idea_framings = 2
proposals = 1

[[topics]]
name = "Reward hacking"
"""

TIMINGS = {"wall_s", "cpu_s", "max_rss_mb", "files", "seconds"}
"""Fields of a sandbox record that measure the run rather than say what it did."""


def _agenda(tmp_path: Path, name: str, extra: str = "") -> Agenda:
    path = tmp_path / f"{name}.toml"
    path.write_text(AGENDA.format(name=name) + extra)
    return load_agenda(path)


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _sandbox_runs(store: Store, run_id: int) -> dict[str | None, Any]:
    return {
        a.step_key: _stable(a.content_json)
        for a in store.artifacts(run_id=run_id, kind=Kind.SANDBOX_RUN)
    }


def test_a_queued_run_s_experiments_run_as_sandbox_items(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'local.db'}", create=True) as local:
        reference = run_agenda_sync(_agenda(tmp_path, "same"), store=local)
        expected = _sandbox_runs(local, reference.run.id)
    assert expected, "the agenda ran no experiment"

    with Store.open(f"sqlite:///{tmp_path / 'queue.db'}", create=True) as store:
        submitted = submit_agenda(
            _agenda(tmp_path, "same", '\n[sandbox]\nbackend = "queue"\n'), store=store
        )
        # One slot runs the project, the other the experiments it queues.
        stats = run_worker_sync(Worker(store, concurrency=2, idle_exit_s=1.0, poll_s=0.05))

        run = store.get_run(submitted.run.id)
        assert run.status == RunStatus.COMPLETED, run.stop_reason
        items = [i for i in store.work_items() if i.kind == WorkKind.SANDBOX]
        # One item per distinct job of the run: steps that ask for the same job share it.
        assert 1 <= len(items) <= len(expected)
        assert all(i.state == WorkState.DONE and i.run_id == run.id for i in items)
        assert stats.done == len(items) + 1 and stats.failed == 0
        assert _sandbox_runs(store, run.id) == expected
