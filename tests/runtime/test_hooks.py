"""Hooks change a step's prompt or output with no change in any stage."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from autoalign.pipeline import run_agenda
from autoalign.pipeline._schemas import CheckReport, FlawItem
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
        if isinstance(output, CheckReport):
            assert info.kind == "check_report" and info.role == "critic-1"
            assert info.stage == "execute" and "<work>" in info.prompt
            return CheckReport(verdict="pass", flaws=[
                FlawItem(category="other", severity="critical", description="injected")
            ])
        return None

    summary = await run_agenda(agenda(model), store=store, hooks=hooks)
    assert summary.run.status == "completed"
    (check,) = store.artifacts(run_id=summary.run.id, kind="check_report")
    assert check.content_json["verdict"] == "pass"
    assert "[critical] other: injected" in check.content_text
    (log,) = store.artifacts(run_id=summary.run.id, kind="research_log")
    # The findings are derived from the tampered output, like any step's.
    assert [(f.category, f.description) for f in store.flaws(artifact_id=log.id)] == [
        ("other", "injected")
    ]
    (change,) = hooks.changes
    assert (change.key, change.hook, change.field) == ("execute/check/0", "inject", "output")
    assert "injected" in change.after and "toy only" in change.before
    assert "execute/check/0" in seen and "writeup/critic-2/0" in seen


async def test_a_pre_step_hook_replaces_the_prompt_sent(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    hooks = Hooks()

    @hooks.before_step
    def reword(info: StepInfo) -> str | None:
        return info.prompt + "\nINJECTED" if info.key == "execute/work/0" else None

    await run_agenda(agenda(model), store=store, hooks=hooks)
    (work_prompt,) = [p for n, p in script.calls if n == "WorkOutput"]
    assert work_prompt.endswith("\nINJECTED")
    assert sum("INJECTED" in p for _n, p in script.calls) == 1
    assert [c.key for c in hooks.changes] == ["execute/work/0"]


async def test_a_hook_must_keep_the_output_type(store: Store, team: tuple[Team, str]) -> None:
    _script, model = team
    hooks = Hooks()
    hooks.after_step(lambda _info, _out: FlawItem(
        category="other", severity="minor", description="wrong type"
    ))
    with pytest.raises(TypeError, match="must return a"):
        await run_agenda(agenda(model), store=store, hooks=hooks)
