"""One pipeline step: ask a role for a structured output and store it as an artifact.

This module is the one home of idempotency. A step is named by a key unique within its run; a
step whose artifact exists is resumed (its typed output read back from the store) instead of
asked again, and the records that belong to a step (flaws, a judgment, claims, review requests,
status changes) are derived from its typed output and written here, keyed so that writing them
a second time (after a resume) is a no-op. A step interrupted after its model call is answered
from the response cache. Together these make any run resumable at no extra cost.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic_ai import Tool

from ..agenda import Agenda
from ..critics import Finding, LLMCritic
from ..errors import AutoalignError, BudgetExceededError, DataError
from ..models import CALL_OBSERVER, ModelClient
from ..sandbox import Backend, LocalBackend
from ..store import ArtifactRecord, CallWait, CriticVersionRecord, Parent, RunRecord, Store
from ..vocabulary import ClaimSource, Kind, Role, Stage, Status, UpdateKind
from ._hooks import Hooks, StepInfo
from ._progress import ProgressSink

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
S = TypeVar("S")
A = TypeVar("A")
B = TypeVar("B")


class StepFailedError(AutoalignError):
    """A step's output stayed invalid and the agenda says to stop on failure."""


class NothingToDoError(AutoalignError):
    """A stage has no usable input left (every upstream step failed)."""


@dataclass(frozen=True, kw_only=True)
class StepResult(Generic[T]):
    """What a step left in the store, with its output still typed."""

    key: str
    """The step key as stored (with the round suffix of a stage re-run)."""
    artifact: ArtifactRecord | None
    """The stored artifact; None when the step was skipped because an input it needs failed."""
    output: T | None
    """The validated output; None when the step failed or was skipped."""

    @property
    def ok(self) -> bool:
        """The step has a valid output."""
        return self.output is not None

    @property
    def id(self) -> int:
        """The artifact's id (a skipped step has none)."""
        if self.artifact is None:
            raise DataError(f"step {self.key} was skipped and stored no artifact")
        return self.artifact.id

    @property
    def text(self) -> str:
        """The artifact's rendered text ('' for a skipped step)."""
        return self.artifact.content_text if self.artifact is not None else ""


class FlawLike(Protocol):
    """A flaw as critics report it."""

    @property
    def category(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def description(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """A judge's or critic's verdict on an artifact: a score, a decision, or both."""

    role: Role
    score: float | None = None
    decision: str | None = None
    rationale: str = ""
    other: int | None = None
    """For a pairwise verdict: the second item shown (the `Findings.about` was shown first);
    `decision` then says which was better (`first`, `second`, `tie`)."""
    model: str | None = None
    """The model(s) behind a verdict recorded without a model call of its own (e.g. critic
    #2's report, decided from its instances' replies); None: the judge artifact's model."""


@dataclass(frozen=True, kw_only=True)
class ClaimNote:
    """A claim with the probability its author gives it; for a claim that answers a testbed
    question, the question, the effect estimate and its interval too."""

    text: str
    probability: float | None
    """That the claim holds; for a testbed question, that its answer is yes."""
    testbed: str | None = None
    question_id: str | None = None
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True, kw_only=True)
class StatusChange:
    """Set an artifact's status (only if it differs: the history stays free of repeats)."""

    artifact_id: int
    status: Status
    reason: str


@dataclass(frozen=True, kw_only=True)
class Findings:
    """The multi-row records that belong to one step, about one artifact.

    The step's artifact is the finder: flaws are `found_by` it and a verdict is judged by it.
    A critic's `Finding`s are stored on the artifact each one's location points at (with the
    evidence, location and confidence in the description); other flaws on `about`.
    """

    about: int
    """The artifact the flaws, verdict, claims and review requests are about."""
    flaws: Sequence[FlawLike | Finding] = ()
    critic: str | None = None
    """The id of the registered critic that found the flaws, if one did (e.g. `c2.review`)."""
    critic_version: str | None = None
    """That critic's version; given together with `critic`."""
    verdict: Verdict | None = None
    verdict_also: Sequence[int] = ()
    """Further artifacts the verdict is about (a judgment row on each, e.g. both papers of a
    pair critic #3 judged)."""
    claims: Sequence[ClaimNote] = ()
    reviews: Sequence[str] = ()
    """Reasons to escalate `about` to a human review."""
    statuses: Sequence[StatusChange] = ()

    def __post_init__(self) -> None:
        if (self.critic is None) != (self.critic_version is None):
            raise DataError(
                f"findings about artifact {self.about} name critic {self.critic!r} with version "
                f"{self.critic_version!r}; give both or neither"
            )


def _flaw_row(flaw: FlawLike | Finding) -> dict[str, str]:
    if isinstance(flaw, Finding):
        return {
            "category": flaw.category.value,
            "severity": flaw.severity.value,
            "description": flaw.stored_description(),
        }
    return {"category": flaw.category, "severity": flaw.severity, "description": flaw.description}


FindingsOf = Callable[[StepResult[T]], Findings | None]
"""Derive a step's findings from its result (called for fresh and resumed steps alike)."""


class StepCalls:
    """The model calls one step awaits, each with the calls of the step that had finished
    before it was issued: what the call waited on within the step (its step's parents aside).

    Stored with the step's artifact (`step_calls`), they make the run's dependency graph
    (`Store.critical_path`). Watch a step's asks with `StageContext.watch_calls`.
    """

    def __init__(self) -> None:
        self._waits: list[CallWait] = []
        self._finished: list[str] = []

    def issued(self, step_key: str | None) -> object:
        """An ask under `step_key` starts (the model client calls this)."""
        key = step_key or ""
        self._waits.append(CallWait(call_key=key, after=tuple(self._finished)))
        return key

    def finished(self, token: object) -> None:
        """The ask `issued` returned `token` for has ended (the model client calls this)."""
        self._finished.append(str(token))

    @property
    def waits(self) -> list[CallWait]:
        """The calls issued so far, in order."""
        return list(self._waits)


@dataclass
class StageContext:
    """What every stage gets: the store, the model door, the run, its agenda, the hooks and the
    sandbox backend its experiments run on."""

    store: Store
    client: ModelClient
    run: RunRecord
    agenda: Agenda
    progress: ProgressSink
    hooks: Hooks = field(default_factory=Hooks)
    backend: Backend = field(default_factory=LocalBackend)
    """Where sandboxed jobs run. The orchestrator makes one per run from the agenda's
    `[sandbox]` section and closes it when the run ends."""
    round: int = 0
    """0 for a run's own steps; n for the n-th re-run of a stage (`run --stage`)."""
    _fine_tuned: dict[str, CriticVersionRecord | None] = field(default_factory=dict, repr=False)
    """`fine_tuned` per critic id, read once per context (a later registration does not
    apply to a run already started)."""

    @contextmanager
    def watch_calls(self) -> Iterator[StepCalls]:
        """Record the model calls made inside the block (and in the tasks it starts), for a
        step that asks outside `step` and `babble` (e.g. a critic's check); pass
        `calls=watched.waits` to `record`."""
        watched = StepCalls()
        token = CALL_OBSERVER.set(watched)
        try:
            yield watched
        finally:
            CALL_OBSERVER.reset(token)

    def fine_tuned(self, critic_id: str) -> CriticVersionRecord | None:
        """The fine-tuned model registered for the critic `critic_id` (`UpdateKind.FINE_TUNED`,
        `autoalign learn register-model`) before this run started, if any: it answers the
        critic's calls in this run and names their results (a run started earlier keeps the
        model it started with, so a resume asks what it asked)."""
        if critic_id not in self._fine_tuned:
            found = self.store.active_update(critic_id, UpdateKind.FINE_TUNED)
            self._fine_tuned[critic_id] = (
                None if found is None or found.created_at > self.run.created_at else found
            )
        return self._fine_tuned[critic_id]

    def key(self, base: str) -> str:
        """The stored step key: `base`, with `@n` for round n of a stage re-run."""
        return base if self.round == 0 else f"{base}@{self.round}"

    # -- inputs ------------------------------------------------------------------------------

    def latest(
        self, kind: Kind, output_type: type[T], *, status: Status | None = None
    ) -> StepResult[T] | None:
        """The run's latest artifact of `kind` (with `status`, if given), its output typed."""
        found = [
            a for a in self.store.artifacts(run_id=self.run.id, kind=kind)
            if status is None or a.status == status
        ]
        return self.typed(found[-1], output_type) if found else None

    def typed(self, artifact: ArtifactRecord, output_type: type[T]) -> StepResult[T]:
        """A stored artifact as a step result, its content read back as `output_type`.

        Raises:
            DataError: the artifact's content is not a valid `output_type`.
        """
        output = None
        if artifact.status != Status.FAILED:
            try:
                output = output_type.model_validate(artifact.content_json)
            except ValidationError as exc:
                raise DataError(
                    f"stored artifact {artifact.id} ({artifact.kind}) does not hold a "
                    f"{output_type.__name__}: {exc.error_count()} error(s)"
                ) from exc
        return StepResult(key=artifact.step_key or "", artifact=artifact, output=output)

    # -- the one idempotency home ------------------------------------------------------------

    def _resume(self, key: str, output_type: type[T]) -> StepResult[T] | None:
        existing = self.store.artifact_by_step(self.run.id, key)
        if existing is None:
            return None
        self.progress.step(key, "resumed")
        return self.typed(existing, output_type)

    def _skipped(self, key: str, needs: Sequence[StepResult[Any]]) -> StepResult[Any] | None:
        """A skipped result when an input the step needs has no valid output, else None."""
        if all(n.ok for n in needs):
            return None
        self.progress.step(key, "skipped")
        return StepResult(key=key, artifact=None, output=None)

    def _write_findings(self, result: StepResult[T], findings: FindingsOf[T] | None) -> None:
        """Write a step's records; every write below is a no-op the second time."""
        if findings is None or result.artifact is None:
            return
        found = findings(result)
        if found is None:
            return
        store, finder = self.store, result.artifact.id
        by_artifact: dict[int, list[dict[str, str]]] = {}
        for flaw in found.flaws:
            target = flaw.location.artifact_id if isinstance(flaw, Finding) else found.about
            by_artifact.setdefault(target, []).append(_flaw_row(flaw))
        for artifact_id, rows in by_artifact.items():  # each write is once per (artifact, finder)
            store.add_flaws(
                artifact_id=artifact_id,
                found_by_id=finder,
                critic=found.critic,
                critic_version=found.critic_version,
                items=rows,
            )
        if found.verdict is not None:  # once per (artifact, judge)
            store.add_verdicts(
                judge_artifact_id=finder,
                artifact_ids=[found.about, *found.verdict_also],
                role=found.verdict.role,
                score=found.verdict.score,
                decision=found.verdict.decision,
                rationale=found.verdict.rationale,
                model=found.verdict.model or result.artifact.model,
                other_artifact_id=found.verdict.other,
            )
        if found.claims:
            store.add_claims(
                artifact_id=found.about,
                items=[
                    {
                        "text": c.text, "probability": c.probability, "testbed": c.testbed,
                        "question_id": c.question_id, "effect": c.effect, "ci_low": c.ci_low,
                        "ci_high": c.ci_high,
                    }
                    for c in found.claims
                ],
                source=ClaimSource.PIPELINE,
            )
        for reason in found.reviews:
            store.add_review_request(artifact_id=found.about, reason=reason)
        for change in found.statuses:
            if store.status(change.artifact_id) != change.status:
                store.set_status(change.artifact_id, change.status, reason=change.reason)

    # -- steps -------------------------------------------------------------------------------

    async def step(
        self,
        *,
        key: str,
        kind: Kind,
        stage: Stage,
        role: Role,
        output_type: type[T],
        instructions: str,
        prompt: str,
        parents: Sequence[Parent],
        render: Callable[[T], str],
        title: Callable[[T], str] | None = None,
        needs: Sequence[StepResult[Any]] = (),
        findings: FindingsOf[T] | None = None,
        tools: Sequence[Tool[None]] = (),
        max_requests: int = 8,
        refine: Callable[[T], T] | None = None,
        links: Callable[[T], Sequence[Parent]] | None = None,
        model: str | None = None,
        sample: int | None = None,
    ) -> StepResult[T]:
        """Run a step once and store its artifact (status `ok`, or `failed` with the raw reply).

        `sample` numbers the samples of a repeated prompt (`ModelClient.ask`): steps that ask
        the same prompt with different samples get independent answers, not one cached reply.

        A step any of whose `needs` has no valid output is skipped (nothing is stored or asked).
        `tools` are offered to the model (see `ModelClient.ask`); what they write to the store
        they must key themselves, since a resumed step does not call them again.
        `refine` turns a valid output (after the post-step hooks) into what is stored, e.g. with
        the sources it cites checked; `links` gives the extra provenance edges the stored output
        names (added to `parents`). `model` asks that `provider:model` instead of the role's.
        """
        key = self.key(key)
        done = self._resume(key, output_type)
        if done is None:
            skipped = self._skipped(key, needs)
            if skipped is not None:
                return skipped
            info = StepInfo(key=key, stage=stage, kind=kind, role=role, prompt=prompt)
            info = replace(info, prompt=self.hooks.apply_pre(info))  # the prompt actually sent
            with self.watch_calls() as calls:
                reply = await self.client.ask(
                    role, output_type, instructions=instructions, prompt=info.prompt,
                    step_key=key, tools=tools, max_requests=max_requests, model=model,
                    sample=sample,
                )
            done = self._store_outcome(
                info=info, calls=calls.waits,
                model=reply.model, prompt_digest=reply.prompt_digest, parents=parents,
                output=reply.output, render=render, title=title,
                raw=reply.raw, error=reply.error or "", refine=refine, links=links,
            )
        self._write_findings(done, findings)
        return done

    async def critique(
        self,
        *,
        key: str,
        kind: Kind,
        stage: Stage,
        critic: LLMCritic[S, T],
        subject: S | None,
        parents: Sequence[Parent],
        needs: Sequence[StepResult[Any]] = (),
        findings: Callable[[StepResult[T], list[Finding]], Findings | None],
        model: str | None = None,
    ) -> StepResult[T]:
        """Ask an LLM critic about `subject` as a step: its reply is the step's artifact
        (`model`: a `provider:model` to ask instead of the critic role's).

        The critic's `findings` of the (fresh or resumed) reply are handed to `findings`, whose
        records are written like any step's, the flaws with the critic's id and version. When a
        fine-tuned model is registered for the critic (`fine_tuned`) and no `model` is given,
        that model is asked and the flaws name its version (`1+fine_tuned.1`).
        `subject` may be None only when a step in `needs` failed (the step is then skipped).

        Raises:
            DataError: `subject` is None although every step in `needs` has a valid output.
        """
        if subject is None and all(n.ok for n in needs):
            raise DataError(f"step {key}: critic {critic.id} was given nothing to check")
        tuned = self.fine_tuned(critic.id) if model is None else None
        version = critic.version if tuned is None else tuned.version
        if tuned is not None:
            model = str(tuned.params["model"])

        def derive(result: StepResult[T]) -> Findings | None:
            found = (
                critic.findings(subject, result.output)
                if subject is not None and result.output is not None else []
            )
            records = findings(result, found)
            if records is None:
                return None
            return replace(records, critic=critic.id, critic_version=version)

        return await self.step(
            key=key,
            kind=kind,
            stage=stage,
            role=critic.role,
            output_type=critic.output_type,
            instructions=critic.instructions,
            prompt=critic.prompt(subject) if subject is not None else "",
            parents=parents,
            render=critic.render,
            needs=needs,
            findings=derive,
            model=model,
        )

    async def babble(
        self,
        *,
        key: str,
        kind: Kind,
        stage: Stage,
        role: Role,
        output_type: type[T],
        instructions: str,
        prompts: Sequence[str],
        parents: Sequence[Parent],
        merge: Callable[[list[T]], T],
        render: Callable[[T], str],
    ) -> StepResult[T]:
        """Ask one role several differently framed prompts and store the merged answers as one
        artifact. The prompts are asked concurrently (the provider's semaphore bounds them);
        each answer is cached on its own, so a step interrupted half-way pays only for the
        prompts it had not asked yet (and a budget stop lets the asks already sent finish)."""
        key = self.key(key)
        done = self._resume(key, output_type)
        if done is not None:
            return done
        sent = [
            self.hooks.apply_pre(StepInfo(key=key, stage=stage, kind=kind, role=role, prompt=p))
            for p in prompts
        ]
        with self.watch_calls() as calls:
            replies = await fan_out([
                self.client.ask(
                    role, output_type, instructions=instructions, prompt=prompt,
                    step_key=f"{key}#{i}",
                )
                for i, prompt in enumerate(sent)
            ])
        good = [r.output for r in replies if r.output is not None]
        return self._store_outcome(
            info=StepInfo(key=key, stage=stage, kind=kind, role=role, prompt="\n---\n".join(sent)),
            calls=calls.waits,
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

    def _store_outcome(
        self,
        *,
        info: StepInfo,
        model: str,
        prompt_digest: str,
        parents: Sequence[Parent],
        output: T | None,
        render: Callable[[T], str],
        raw: str,
        error: str,
        title: Callable[[T], str] | None = None,
        extra: dict[str, Any] | None = None,
        calls: Sequence[CallWait] = (),
        refine: Callable[[T], T] | None = None,
        links: Callable[[T], Sequence[Parent]] | None = None,
    ) -> StepResult[T]:
        """Store a step's artifact: its output, or (status `failed`) the raw reply and error."""
        if output is not None:
            output = self.hooks.apply_post(info, output)
            if refine is not None:
                output = refine(output)
            if links is not None:
                parents = [*parents, *links(output)]
        artifact = self.store.add_artifact(
            run_id=self.run.id,
            kind=info.kind,
            stage=info.stage,
            role=info.role,
            model=model,
            prompt_digest=prompt_digest,
            step_key=info.key,
            parents=parents,
            title=title(output) if output is not None and title else None,
            content_text=render(output) if output is not None else raw,
            content_json=(
                {**output.model_dump(mode="json"), **(extra or {})}
                if output is not None
                else {"error": error}
            ),
            status=Status.OK if output is not None else Status.FAILED,
            calls=calls,
        )
        result = StepResult(key=info.key, artifact=artifact, output=output)
        if output is not None:
            self.progress.step(info.key, "done")
            return result
        self.progress.step(info.key, "failed")
        if self.agenda.run.on_failure == "stop":
            raise StepFailedError(
                f"step {info.key} ({info.role}, {model}) gave no valid output: {error}"
            )
        return result

    def record(
        self,
        *,
        key: str,
        kind: Kind,
        stage: Stage,
        content: T,
        render: Callable[[T], str],
        parents: Sequence[Parent],
        title: str | None = None,
        status: Status = Status.OK,
        needs: Sequence[StepResult[Any]] = (),
        findings: FindingsOf[T] | None = None,
        stated_by: ArtifactRecord | None = None,
        calls: Sequence[CallWait] = (),
    ) -> StepResult[T]:
        """Store an artifact the pipeline derives itself, without a model (e.g. a selection).

        `stated_by` is the model step whose output the record restates (e.g. one answer of a
        report, stored as a claim): the record carries that step's role and model, so what a
        model stated stays attributed to it.

        `calls` are model calls the record's content was derived from, asked outside `step`
        (see `watch_calls`): stored with it, for the run's dependency graph.

        A record is resumed like a step: if its key exists, the stored content is returned
        (typed) and `content` is ignored, so a resumed run keeps the choices it made.
        """
        key = self.key(key)
        done = self._resume(key, type(content))
        if done is None:
            skipped = self._skipped(key, needs)
            if skipped is not None:
                return skipped
            info = StepInfo(key=key, stage=stage, kind=kind, role=None, prompt="")
            content = self.hooks.apply_post(info, content)
            artifact = self.store.add_artifact(
                run_id=self.run.id,
                kind=kind,
                stage=stage,
                role=Role(stated_by.role) if stated_by and stated_by.role else None,
                model=stated_by.model if stated_by else None,
                step_key=key,
                title=title,
                content_text=render(content),
                content_json=content.model_dump(mode="json"),
                status=status,
                parents=parents,
                calls=calls,
            )
            self.progress.step(key, "done")
            done = StepResult(key=key, artifact=artifact, output=content)
        self._write_findings(done, findings)
        return done


async def fan_out(coros: Sequence[Coroutine[Any, Any, R]]) -> list[R]:
    """Run coroutines concurrently and return their results in order; re-raise the first failure.

    A budget stop lets the siblings finish what they already sent: the model client refuses
    every ask after the budget is hit (the refusal is sticky), so they end at their next ask, and
    an answer already paid for is stored and cached rather than thrown away (a resume would
    otherwise pay for it again). Any other failure (a provider error, a bug) cancels the siblings
    at once, and so does cancelling `fan_out` itself. The model client's per-provider semaphores
    bound the real concurrency.
    """
    if not coros:
        return []
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failures = [
            exc for t in tasks
            if t in done and not t.cancelled() and (exc := t.exception()) is not None
        ]
        if failures:
            if not isinstance(failures[0], BudgetExceededError):
                for task in pending:
                    task.cancel()
            if pending:
                await asyncio.wait(pending)
    except BaseException:  # fan_out itself was cancelled: so are its tasks
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    if failures:
        for task in tasks:  # retrieve every outcome, so none is reported as never retrieved
            if not task.cancelled():
                task.exception()
        raise failures[0]
    return [t.result() for t in tasks]


async def fan_out2(first: Coroutine[Any, Any, A], second: Coroutine[Any, Any, B]) -> tuple[A, B]:
    """`fan_out` of two coroutines whose results differ in type."""
    a, b = await fan_out([first, second])
    return cast(A, a), cast(B, b)
