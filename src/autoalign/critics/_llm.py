"""The base of LLM critics: a prompt built from the subject, and a pure reading of the reply.

Splitting the model call from what the critic makes of its reply is what lets the runtime ask
an LLM critic as a pipeline step (stored, cached, resumed) and derive the same findings from a
fresh reply and from one read back from the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel

from ..errors import ConfigError, DataError
from ..vocabulary import Role
from ._finding import Finding
from ._protocol import CriticContext, CriticKind, CriticScale

S = TypeVar("S")
R = TypeVar("R", bound=BaseModel)


class LLMCritic(ABC, Generic[S, R]):
    """A critic that asks the model playing `role` for a typed `output_type` about a subject.

    Subclasses set `id`, `version`, `scale`, `checks`, `description`, `role`, `instructions`
    and `output_type`, and implement `prompt`, `findings`, `render` and `step_key`. `check`
    asks once through the context's model client; the runtime asks through a step instead
    (`StageContext.critique`) and calls `findings` on the stored reply.
    """

    id: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[CriticKind] = "llm"
    scale: ClassVar[CriticScale]
    checks: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    role: ClassVar[Role]
    """The role whose model is asked (e.g. `critic-2`)."""
    instructions: ClassVar[str]
    """The system instructions sent with every prompt."""
    output_type: type[R]
    """The bounded structured reply asked for (every string and list has a maximum length)."""

    @abstractmethod
    def prompt(self, subject: S) -> str:
        """The prompt about `subject`, every untrusted text delimited as data."""

    @abstractmethod
    def findings(self, subject: S, output: R) -> list[Finding]:
        """The findings a reply reports about `subject` (pure: no I/O)."""

    @abstractmethod
    def render(self, output: R) -> str:
        """The reply as the text of the artifact that stores it."""

    @abstractmethod
    def step_key(self, subject: S) -> str:
        """The step key `check` books its model call under (for the cache and the ledger)."""

    async def ask(
        self, subject: S, *, context: CriticContext, model: str | None = None,
        step_key: str | None = None,
    ) -> R:
        """Ask the model once (the model layer caches and books the call) for a reply.

        Args:
            subject: what the critic checks.
            context: holds the model client.
            model: a `provider:model` to ask instead of the critic role's.
            step_key: the step key to book the call under (default `self.step_key(subject)`).

        Raises:
            ConfigError: no model client in the context.
            DataError: the model gave no valid reply.
        """
        if context.models is None:
            raise ConfigError(f"critic {self.id} needs a model client for role {self.role}")
        reply = await context.models.ask(
            self.role.value,
            self.output_type,
            instructions=self.instructions,
            prompt=self.prompt(subject),
            step_key=step_key or self.step_key(subject),
            model=model,
        )
        if reply.output is None:
            raise DataError(
                f"critic {self.id} got no valid {self.output_type.__name__} from {reply.model}: "
                f"{reply.error}"
            )
        return reply.output

    async def check(self, subject: S, *, context: CriticContext) -> list[Finding]:
        """Ask once and return the findings of the reply.

        Raises:
            ConfigError: no model client in the context.
            DataError: the model gave no valid reply.
        """
        return self.findings(subject, await self.ask(subject, context=context))
