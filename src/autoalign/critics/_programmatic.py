"""The base of programmatic critics: a pure rule over the step, run without I/O."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ._finding import Finding
from ._protocol import CriticContext, CriticKind, CriticScale
from ._step import ExecutedStep


class ProgrammaticCritic(ABC):
    """A critic #1 check that is a deterministic rule in code over an executed step.

    Subclasses set `id`, `version`, `checks`, `description` and implement `rule`; `check`
    runs it. The rule is synchronous and pure so that the known-answer evaluation can run it
    directly.
    """

    id: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[CriticKind] = "programmatic"
    scale: ClassVar[CriticScale] = CriticScale.STEP
    checks: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    @abstractmethod
    def rule(self, step: ExecutedStep) -> list[Finding]:
        """The findings about `step`."""

    async def check(self, step: ExecutedStep, *, context: CriticContext) -> list[Finding]:
        """Run `rule`; programmatic critics ignore the context."""
        return self.rule(step)
