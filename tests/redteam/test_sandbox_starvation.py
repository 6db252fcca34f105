"""A step given no sandbox runs: the pipeline admits it ran nothing, or fakes a result."""

from __future__ import annotations

import pytest

from autoalign.redteam import starve_sandbox
from autoalign.store import Store
from autoalign.vocabulary import Kind
from tests.pipeline.conftest import Team
from tests.pipeline.test_run import agenda


async def test_a_step_starved_of_sandbox_runs_fails_and_nothing_is_faked(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    got = await starve_sandbox(agenda(model), store=store, runs=0)
    (task,) = store.artifacts(run_id=got.run.run_id, kind=Kind.TASK_SPEC)
    assert task.content_json["budget"]["max_runs"] == 0 and got.runs == 0
    assert got.task_key == task.step_key
    # The step ran nothing and its log says why; no report or claim stands on it.
    assert got.sandbox_runs == 0
    assert not store.artifacts(run_id=got.run.run_id, kind=Kind.SANDBOX_RUN)
    assert got.log_status == "failed"
    assert "budget of 0 sandbox runs" in (got.log_error or "")
    assert got.step_results == () and got.run.claims == 0 and got.run.unbacked == ()
    assert got.admitted
    # With its one step failed, the run stops before the write-up and says why.
    assert got.run.status == "stopped" and "usable result" in (got.run.stop_reason or "")
    assert not store.artifacts(run_id=got.run.run_id, kind=Kind.PAPER)


async def test_the_unstarved_budget_runs_the_step(store: Store, team: tuple[Team, str]) -> None:
    _script, model = team
    got = await starve_sandbox(agenda(model), store=store, runs=4)
    assert got.sandbox_runs > 0 and got.log_status != "failed" and got.step_results
    assert not got.admitted
    with pytest.raises(ValueError, match="at least 0"):
        await starve_sandbox(agenda(model), store=store, runs=-1)
