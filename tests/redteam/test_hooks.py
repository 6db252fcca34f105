"""Injection into a running pipeline: a post-step hook tampers with a step's output and
records exactly what it changed."""

from __future__ import annotations

import random

from pydantic import BaseModel

from autoalign.redteam import Injected, changed_paths, flaw_type, injection_hook, replace_text
from autoalign.runtime import Hooks, StepInfo
from autoalign.vocabulary import Kind, Role, Stage


class Report(BaseModel):
    summary: str
    seeds: int


def _flip(output: BaseModel, rng: random.Random) -> Injected[BaseModel] | None:
    assert isinstance(output, Report)
    at = output.summary.find("less")
    if at < 0:
        return None
    return replace_text(output, flaw_type("wrong-direction"), artifact_id=None, path="summary",
                        start=at, end=at + 4, new="more", description="flipped less to more")


def _info(key: str) -> StepInfo:
    return StepInfo(key=key, stage=Stage.EXECUTE, kind=Kind.STEP_REPORT, role=Role.WORKER,
                    prompt="p")


def test_post_step_hook_tampers_with_the_selected_steps_and_records_the_change() -> None:
    hooks = Hooks()
    hook = injection_hook(select=lambda info: info.key.startswith("execute/"), edit=_flip,
                          seed=3, limit=1)
    hooks.after_step(hook)
    clean = Report(summary="The penalty arm hacked less.", seeds=2)
    tampered = hooks.apply_post(_info("execute/0/report"), clean)
    assert tampered.summary == "The penalty arm hacked more."
    assert changed_paths(clean, tampered) == {"summary"}
    [(key, change)] = hook.injected
    assert key == "execute/0/report" and change.field == "summary"
    assert (change.before, change.after, change.flaw_type) == ("less", "more", "wrong-direction")
    assert [c.hook for c in hooks.changes] == ["redteam-injection"]
    # not selected, and past the limit: left alone
    assert hooks.apply_post(_info("writeup/abstract"), clean) == clean
    assert hooks.apply_post(_info("execute/1/report"), clean) == clean
    assert len(hook.injected) == 1
