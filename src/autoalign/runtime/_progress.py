"""Where a run reports progress: the CLI draws it, tests may record it."""

from __future__ import annotations

from typing import Protocol

from ..models import CallEvent


class ProgressSink(Protocol):
    """Where the pipeline reports progress; the CLI draws it, tests may record it."""

    def stage(self, name: str, steps: int) -> None:
        """A stage starts with about `steps` steps."""

    def step(self, key: str, outcome: str) -> None:
        """A step finished: outcome is `done`, `resumed` (already stored), `failed`, or
        `skipped` (an input it needs failed, under `on_failure = "continue"`)."""

    def call(self, event: CallEvent) -> None:
        """A model call has been waiting a while, is being retried, or is done waiting."""


class NullProgress:
    """A progress sink that shows nothing."""

    def stage(self, name: str, steps: int) -> None:
        del name, steps

    def step(self, key: str, outcome: str) -> None:
        del key, outcome

    def call(self, event: CallEvent) -> None:
        del event
