"""Hooks change a step's prompt or output with no change in any stage."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from autoalign.pipeline import run_agenda
from autoalign.pipeline._schemas import SpinOff, StepReport
from autoalign.runtime import Hooks, StepInfo
from autoalign.store import Store

from ..pipeline.conftest import Team
from ..pipeline.test_run import agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


async def test_a_post_step_hook_tampers_with_a_stored_output(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    hooks = Hooks()
    seen: list[str] = []

    @hooks.after_step
    def inject(info: StepInfo, output: BaseModel) -> BaseModel | None:
        seen.append(info.key)
        if isinstance(output, StepReport):
            assert info.kind == "step_report" and info.role == "worker"
            assert info.stage == "execute" and "<step_log>" in info.prompt
            return output.model_copy(update={"summary": "Hacking fell by 0.987 with the penalty."})
        return None

    summary = await run_agenda(agenda(model), store=store, hooks=hooks)
    assert summary.run.status == "completed"
    (report,) = store.artifacts(run_id=summary.run.id, kind="step_report")
    assert report.content_json["summary"] == "Hacking fell by 0.987 with the penalty."
    # Critic #1 reads what was stored: the tampered number is found, by the rule that checks it.
    assert [(f.category, f.critic) for f in store.flaws(artifact_id=report.id)] == [
        ("number_mismatch", "c1.numbers-match")
    ]
    (change,) = hooks.changes
    assert (change.key, change.hook, change.field) == (
        "execute/step/0.0/report", "inject", "output"
    )
    assert "0.987" in change.after and "0.987" not in change.before
    assert "execute/step/0.0/report" in seen and "writeup/critic-2/0" in seen
    # Records the pipeline derives (no model) pass through the hook too.
    assert "execute/step/0.0/log" in seen and "execute/decision/0" in seen


async def test_a_pre_step_hook_replaces_the_prompt_sent(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    hooks = Hooks()

    @hooks.before_step
    def reword(info: StepInfo) -> str | None:
        return info.prompt + "\nINJECTED" if info.key == "execute/step/0.0/plan/0" else None

    await run_agenda(agenda(model), store=store, hooks=hooks)
    (plan_prompt,) = [p for n, p in script.calls if n == "ExperimentPlan"]
    assert plan_prompt.endswith("\nINJECTED")
    assert sum("INJECTED" in p for _n, p in script.calls) == 1
    assert [c.key for c in hooks.changes] == ["execute/step/0.0/plan/0"]


async def test_a_hook_must_keep_the_output_type(store: Store, team: tuple[Team, str]) -> None:
    _script, model = team
    hooks = Hooks()
    hooks.after_step(lambda _info, _out: SpinOff(
        title="t", research_question="q", motivation="m", first_step="f"
    ))
    with pytest.raises(TypeError, match="must return a"):
        await run_agenda(agenda(model), store=store, hooks=hooks)
