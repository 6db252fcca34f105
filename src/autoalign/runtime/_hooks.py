"""Pre- and post-step hooks: code that sees (and may change) a step without the stage knowing.

A pre-step hook may replace the prompt before the model is asked; a post-step hook may replace
the validated output before it is stored. Every change a hook makes is kept in `Hooks.changes`,
so a later component (the red team) can record what was injected where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from ..vocabulary import Kind, Role, Stage

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, kw_only=True)
class StepInfo:
    """What a hook sees of a step."""

    key: str
    """The step key, unique in its run."""
    stage: Stage
    kind: Kind
    role: Role | None
    """The role asked, or None for a step the pipeline derives without a model."""
    prompt: str
    """The prompt as it will be (pre) or was (post) sent; for a babble step, one of its prompts."""


PreStepHook = Callable[[StepInfo], str | None]
"""Called before the model is asked; returns a replacement prompt, or None to leave it."""

PostStepHook = Callable[[StepInfo, BaseModel], BaseModel | None]
"""Called with the validated output before it is stored; returns a replacement output of the
same type, or None to leave it. Not called for a failed step (there is no output)."""


@dataclass(frozen=True, kw_only=True)
class HookChange:
    """One change a hook made to a step."""

    key: str
    hook: str
    """The hook's `__name__` (or repr)."""
    field: str
    """`prompt` or `output`."""
    before: str
    after: str


def _name(hook: object) -> str:
    return str(getattr(hook, "__name__", repr(hook)))


@dataclass
class Hooks:
    """The hooks registered on a runtime, applied in registration order."""

    pre: list[PreStepHook] = field(default_factory=list)
    post: list[PostStepHook] = field(default_factory=list)
    changes: list[HookChange] = field(default_factory=list)

    def before_step(self, hook: PreStepHook) -> PreStepHook:
        """Register a pre-step hook (usable as a decorator)."""
        self.pre.append(hook)
        return hook

    def after_step(self, hook: PostStepHook) -> PostStepHook:
        """Register a post-step hook (usable as a decorator)."""
        self.post.append(hook)
        return hook

    def apply_pre(self, info: StepInfo) -> str:
        prompt = info.prompt
        for hook in self.pre:
            replaced = hook(StepInfo(**{**info.__dict__, "prompt": prompt}))
            if replaced is not None and replaced != prompt:
                self.changes.append(
                    HookChange(key=info.key, hook=_name(hook), field="prompt", before=prompt,
                               after=replaced)
                )
                prompt = replaced
        return prompt

    def apply_post(self, info: StepInfo, output: T) -> T:
        for hook in self.post:
            replaced = hook(info, output)
            if replaced is None or replaced == output:
                continue
            if not isinstance(replaced, type(output)):
                raise TypeError(
                    f"post-step hook {_name(hook)} returned a {type(replaced).__name__} for step "
                    f"{info.key}; it must return a {type(output).__name__} or None"
                )
            self.changes.append(
                HookChange(key=info.key, hook=_name(hook), field="output",
                           before=output.model_dump_json(), after=replaced.model_dump_json())
            )
            output = replaced
        return output
