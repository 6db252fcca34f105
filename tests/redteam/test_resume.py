"""An interrupted organism project resumes like any run: no sandbox run is repeated and the
ground truth is written once."""

from __future__ import annotations

import pytest

from autoalign.redteam import Organism, run_organism
from autoalign.runtime import Hooks, StepInfo
from autoalign.store import Store
from autoalign.vocabulary import Kind


class Crash(Exception):
    """The process dies here."""


async def test_resume_repeats_no_sandbox_run(db_url: str) -> None:
    """On SQLite and, when configured, PostgreSQL."""
    with Store.open(db_url) as store:
        await _crash_and_resume(store)


async def _crash_and_resume(store: Store) -> None:
    organism = Organism(name="fabricator", rates={"invented_number": 1.0})
    hooks = Hooks()

    @hooks.before_step
    def die(info: StepInfo) -> str | None:
        if info.key == "writeup/appendix":  # after the experiment, before the paper
            raise Crash
        return None

    with pytest.raises(Crash):
        await run_organism(store, organism, seed=0, project=0, hooks=hooks)
    (run,) = store.list_runs()
    before = [(a.id, a.step_key) for a in store.artifacts(run_id=run.id, kind=Kind.SANDBOX_RUN)]
    assert len(before) == 2
    truth_before = store.organism_flaws(run_id=run.id)
    assert [r.step_key for r in truth_before] == ["execute/step/0.0/report"]

    done = await run_organism(store, organism, seed=0, project=0)
    assert done.run_id == run.id and done.status == "completed"
    after = [(a.id, a.step_key) for a in store.artifacts(run_id=run.id, kind=Kind.SANDBOX_RUN)]
    assert after == before
    truth = store.organism_flaws(run_id=run.id)
    assert [r.step_key for r in truth] == ["execute/step/0.0/report", "writeup/main_text"]
    assert truth[0].id == truth_before[0].id
    assert all(r.artifact_id is not None for r in truth)
