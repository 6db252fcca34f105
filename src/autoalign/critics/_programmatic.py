"""The base of programmatic critics: a pure rule over the subject, run without I/O."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

from ._finding import Finding
from ._protocol import CriticContext, CriticKind, CriticScale

S = TypeVar("S")


class ProgrammaticCritic(ABC, Generic[S]):
    """A check that is a deterministic rule in code over its subject: critic #1's over an
    `ExecutedStep` (`ProgrammaticCritic[ExecutedStep]`, scale `step`, the default) or critic
    #2's over a `PaperDraft` (`ProgrammaticCritic[PaperDraft]`, which must set scale `paper`).

    Subclasses set `id`, `version`, `checks`, `description` (and `scale` for a paper) and
    implement `rule`; `check` runs it. The rule is synchronous and pure so that the
    known-answer evaluation can run it directly.
    """

    id: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[CriticKind] = "programmatic"
    scale: ClassVar[CriticScale] = CriticScale.STEP
    checks: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    @abstractmethod
    def rule(self, subject: S) -> list[Finding]:
        """The findings about `subject`."""

    async def check(self, subject: S, *, context: CriticContext) -> list[Finding]:
        """Run `rule`; programmatic critics ignore the context."""
        return self.rule(subject)
