"""One pipeline step: ask a role for a structured output and store it as an artifact.

A step is named by a key that is unique within its run. A step whose artifact already exists is
not run again; a step that was interrupted after its model call is answered from the response
cache. Together these make any run resumable at no extra cost.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ..agenda import Agenda
from ..errors import AutoalignError
from ..models import CallEvent, ModelClient
from ..store import ArtifactRecord, Parent, RunRecord, Store

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")


class StepFailedError(AutoalignError):
    """A step's output stayed invalid and the agenda says to stop on failure."""


class NothingToDoError(AutoalignError):
    """A stage has no usable input left (every upstream step failed)."""


class ProgressSink(Protocol):
    """Where the pipeline reports progress; the CLI draws it, tests may record it."""

    def stage(self, name: str, steps: int) -> None:
        """A stage starts with about `steps` steps."""

    def step(self, key: str, outcome: str) -> None:
        """A step finished: outcome is `done`, `resumed` (already stored) or `failed`."""

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


@dataclass
class StageContext:
    """What every stage gets: the store, the model door, the run and its agenda."""

    store: Store
    client: ModelClient
    run: RunRecord
    agenda: Agenda
    progress: ProgressSink

    async def step(
        self,
        *,
        key: str,
        kind: str,
        stage: str,
        role: str,
        output_type: type[T],
        instructions: str,
        prompt: str,
        parents: Sequence[Parent],
        render: Callable[[T], str],
        title: Callable[[T], str] | None = None,
    ) -> ArtifactRecord:
        """Run a step once and store its artifact (status `ok`, or `failed` with the raw reply)."""
        existing = self._resumed(key)
        if existing is not None:
            return existing
        reply = await self.client.ask(
            role, output_type, instructions=instructions, prompt=prompt, step_key=key
        )
        return self._store_outcome(
            key=key, kind=kind, stage=stage, role=role, model=reply.model,
            prompt_digest=reply.prompt_digest, parents=parents,
            output=reply.output, render=render, title=title,
            raw=reply.raw, error=reply.error or "",
        )

    async def babble(
        self,
        *,
        key: str,
        kind: str,
        stage: str,
        role: str,
        output_type: type[T],
        instructions: str,
        prompts: Sequence[str],
        parents: Sequence[Parent],
        merge: Callable[[list[T]], T],
        render: Callable[[T], str],
    ) -> ArtifactRecord:
        """Ask one role several differently framed prompts and store the merged answers as one
        artifact. Prompts go one after another; each answer is cached on its own, so a step
        interrupted half-way pays only for the prompts it had not asked yet."""
        existing = self._resumed(key)
        if existing is not None:
            return existing
        replies = [
            await self.client.ask(
                role, output_type, instructions=instructions, prompt=prompt,
                step_key=f"{key}#{i}",
            )
            for i, prompt in enumerate(prompts)
        ]
        good = [r.output for r in replies if r.output is not None]
        return self._store_outcome(
            key=key, kind=kind, stage=stage, role=role,
            model=",".join(sorted({r.model for r in replies})),
            prompt_digest=hashlib.sha256(
                "".join(r.prompt_digest for r in replies).encode()
            ).hexdigest(),
            parents=parents,
            output=merge(good) if good else None,
            render=render,
            extra={"failed_prompts": [i for i, r in enumerate(replies) if r.output is None]},
            raw="\n---\n".join(r.raw for r in replies),
            error="; ".join(r.error or "" for r in replies),
        )

    def _resumed(self, key: str) -> ArtifactRecord | None:
        existing = self.store.artifact_by_step(self.run.id, key)
        if existing is not None:
            self.progress.step(key, "resumed")
        return existing

    def _store_outcome(
        self,
        *,
        key: str,
        kind: str,
        stage: str,
        role: str,
        model: str,
        prompt_digest: str,
        parents: Sequence[Parent],
        output: T | None,
        render: Callable[[T], str],
        raw: str,
        error: str,
        title: Callable[[T], str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ArtifactRecord:
        """Store a step's artifact: its output, or (status `failed`) the raw reply and error."""
        artifact = self.store.add_artifact(
            run_id=self.run.id,
            kind=kind,
            stage=stage,
            role=role,
            model=model,
            prompt_digest=prompt_digest,
            step_key=key,
            parents=parents,
            title=title(output) if output is not None and title else None,
            content_text=render(output) if output is not None else raw,
            content_json=(
                {**output.model_dump(mode="json"), **(extra or {})}
                if output is not None
                else {"error": error}
            ),
            status="ok" if output is not None else "failed",
        )
        if output is not None:
            self.progress.step(key, "done")
            return artifact
        self.progress.step(key, "failed")
        if self.agenda.run.on_failure == "stop":
            raise StepFailedError(f"step {key} ({role}, {model}) gave no valid output: {error}")
        return artifact

    def record(
        self,
        *,
        key: str,
        kind: str,
        stage: str,
        content_text: str,
        content_json: object,
        parents: Sequence[Parent],
        title: str | None = None,
    ) -> ArtifactRecord:
        """Store an artifact the pipeline derives itself, without a model (e.g. a selection)."""
        existing = self._resumed(key)
        if existing is not None:
            return existing
        artifact = self.store.add_artifact(
            run_id=self.run.id,
            kind=kind,
            stage=stage,
            step_key=key,
            title=title,
            content_text=content_text,
            content_json=content_json,
            parents=parents,
        )
        self.progress.step(key, "done")
        return artifact


async def fan_out(coros: Sequence[Coroutine[Any, Any, R]]) -> list[R]:
    """Run coroutines concurrently and return their results in order.

    A TaskGroup, so one failure (a budget stop, a provider error) cancels the siblings instead of
    leaving them running. The model client's per-provider semaphores bound the real concurrency.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as grouped:
        # Re-raise the first failure as itself, so callers can catch it by type.
        raise grouped.exceptions[0] from None
    return [t.result() for t in tasks]
