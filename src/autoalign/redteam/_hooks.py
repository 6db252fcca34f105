"""Injection into a running pipeline, through the runtime's post-step hooks.

`injection_hook` makes a post-step hook that tampers with the validated output of the steps it
selects (with any injector-like edit of that output) and records exactly what it changed, so
the whole-pipeline experiment can store each change as an injection and watch what happens
downstream. The runtime's `Hooks.changes` records the output before and after as well.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..runtime import StepInfo
from ._change import Change, Injected

OutputEdit = Callable[[BaseModel, random.Random], "Injected[Any] | None"]
"""Tampers with a step's output: a changed copy and what changed, or None to leave it."""


@dataclass
class InjectionHook:
    """A post-step hook (register it with `Hooks.after_step`) that tampers with the outputs of
    the steps `select` picks, at most `limit` times, and keeps what it changed."""

    select: Callable[[StepInfo], bool]
    """Which steps to tamper with (e.g. by key prefix, stage or kind)."""
    edit: OutputEdit
    """How to tamper with a selected step's output."""
    seed: int = 0
    """Seeds each edit's generator with the step key, so a resumed run tampers alike."""
    limit: int | None = None
    """Most steps to tamper with (None: every selected step)."""
    injected: list[tuple[str, Change]] = field(default_factory=list)
    """(step key, change) of every tampered step, in order."""

    @property
    def __name__(self) -> str:  # `Hooks` names the hook in `HookChange.hook`
        return "redteam-injection"

    def __call__(self, info: StepInfo, output: BaseModel) -> BaseModel | None:
        if not self.select(info):
            return None
        if self.limit is not None and len(self.injected) >= self.limit:
            return None
        result = self.edit(output, random.Random(f"{self.seed}:{info.key}"))
        if result is None:
            return None
        self.injected.append((info.key, result.change))
        tampered: BaseModel = result.subject
        return tampered


def injection_hook(
    *, select: Callable[[StepInfo], bool], edit: OutputEdit, seed: int = 0,
    limit: int | None = None,
) -> InjectionHook:
    """A post-step hook that tampers with the selected steps' outputs and records each change."""
    return InjectionHook(select=select, edit=edit, seed=seed, limit=limit)


__all__ = ["InjectionHook", "OutputEdit", "injection_hook"]
