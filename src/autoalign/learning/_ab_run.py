"""Running an A/B test: make the tasks (red-team subjects), run each under both arms with the
task's seed, the order of the arms randomised per task, and store one outcome per (task, arm)
as it is known. A re-run of the same config resumes; a killed run loses only the call in
flight. With `sequential = true` the mixture SPRT is checked after each task and stops the
experiment once it rejects.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from ..errors import AutoalignError
from ..models import ModelClient, check_models
from ..redteam import (
    Change,
    Checked,
    CleanSubject,
    RedteamCritic,
    Subject,
    flaw_type,
    inject,
    redteam_critic,
    strict_match,
)
from ..redteam._experiment import clean_subjects
from ..store import AbOutcomeRecord, Store
from ._ab_config import AbConfig
from ._ab_stats import Pair, PairedDifference, SequentialResult, mixture_sprt, paired_difference
from ._ab_views import view

ARMS = ("A", "B")
"""The two arms, as outcomes name them."""

TaskDone = Callable[[int, int, str], None]
"""Told (tasks finished, tasks in all, the task's key) after each task."""


@dataclass(frozen=True, kw_only=True)
class AbTask:
    """One task: a subject both arms check, a tampered copy (with its known change) or a clean
    control."""

    key: str
    """Stable name (`builtin:paper/number-differs-from-log/3`, `builtin:paper/control`)."""
    index: int
    """Its place in the experiment's seeded task order."""
    seed: int
    """The seed both arms run it with."""
    order: tuple[str, str]
    """The order the arms run in (`("B", "A")` or `("A", "B")`), seeded per task."""
    clean: CleanSubject
    """The clean subject it was made from."""
    subject: Subject
    """What the critics are shown (through their arm's view)."""
    change: Change | None = None
    """The injected flaw; None for a control."""

    @property
    def flaw_type(self) -> str | None:
        """The injected flaw's type (None for a control)."""
        return self.change.flaw_type if self.change is not None else None

    @property
    def severe(self) -> bool:
        """The task has a severe flaw (what stated probabilities are scored against)."""
        return self.change is not None and flaw_type(self.change.flaw_type).severe


def _digest(subject: Subject) -> str:
    return hashlib.sha256(subject.model_dump_json().encode()).hexdigest()


def _seed(*parts: object) -> int:
    text = ":".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "big") % 2_147_483_647


def ab_tasks(store: Store, config: AbConfig) -> list[AbTask]:
    """The experiment's tasks in their seeded order: `controls` distinct clean subjects of the
    arms' kind and up to `injections_per_type` distinct programmatic injections per flaw
    type, made as `redteam run` makes them (the same seeds give the same tampered copies)."""
    pool = [c for c in clean_subjects(store, config.redteam()) if c.where == config.where]
    made: list[tuple[str, CleanSubject, Subject, Change | None]] = []
    controls = list(pool)
    random.Random(f"{config.seed}:controls:{config.where}").shuffle(controls)
    made += [(f"{c.key}/control", c, c.subject, None) for c in controls[: config.controls]]
    for type_id in config.types() if pool else []:
        seen: set[str] = set()
        count = 0
        for attempt in range(config.injections_per_type * 20):
            clean = pool[random.Random(f"{config.seed}:{type_id}:{attempt}").randrange(len(pool))]
            injected = inject(type_id, clean.subject, seed=config.seed * 1_000_003 + attempt)
            if injected is None or _digest(injected.subject) in seen:
                continue
            seen.add(_digest(injected.subject))
            made.append((f"{clean.key}/{type_id}/{count}", clean, injected.subject,
                         injected.change))
            count += 1
            if count == config.injections_per_type:
                break
    random.Random(f"{config.seed}:task-order").shuffle(made)
    tasks = []
    for index, (key, clean, subject, change) in enumerate(made):
        first = random.Random(f"{config.seed}:arm-order:{key}").random() < 0.5
        tasks.append(AbTask(key=key, index=index, seed=_seed(config.seed, key),
                            order=("A", "B") if first else ("B", "A"), clean=clean,
                            subject=subject, change=change))
    return tasks


@dataclass(kw_only=True)
class AbRunSummary:
    """What a run of an A/B experiment did, and where it stands."""

    experiment_id: int
    """The experiment's id."""
    name: str
    """Its name."""
    status: str
    """`completed`, `stopped` (by the sequential test) or `failed`."""
    tasks: int
    """Tasks the config makes."""
    finished: int = 0
    """Tasks with both arms' outcomes stored."""
    outcomes_written: int = 0
    """Outcomes this run stored (0 on a re-run of a finished experiment)."""
    critic_errors: int = 0
    """Critic checks that raised in this run (stored as flagging nothing, the error kept)."""
    critics: dict[str, str] = field(default_factory=dict)
    """Per arm, `<critic id>@<version>` and view (`c2.numbers-match@1 (full)`)."""
    difference: PairedDifference | None = None
    """B - A in correct rate over the finished tasks (None before any)."""
    sequential: SequentialResult | None = None
    """The sequential test over the finished tasks, when the config enables it."""


def pairs(outcomes: list[AbOutcomeRecord]) -> list[Pair]:
    """The finished tasks (both arms stored) as pairs, in task order."""
    by_task: dict[str, dict[str, AbOutcomeRecord]] = {}
    for o in outcomes:
        by_task.setdefault(o.task_key, {})[o.arm] = o
    done = sorted((arms for arms in by_task.values() if set(arms) == set(ARMS)),
                  key=lambda arms: arms["A"].task_index)
    return [Pair(task=a["A"].task_key, flaw_type=a["A"].flaw_type, a_correct=a["A"].correct,
                 b_correct=a["B"].correct, a_probability=a["A"].probability,
                 b_probability=a["B"].probability, severe=a["A"].severe) for a in done]


def _sequential(config: AbConfig, got: list[Pair]) -> SequentialResult | None:
    if not config.sequential:
        return None
    return mixture_sprt([(p.a_correct, p.b_correct) for p in got], alpha=config.alpha)


async def _check(critic: RedteamCritic, subject: Subject,
                 models: ModelClient | None) -> tuple[Checked, str | None]:
    try:
        return await critic.check(subject, models=models), None
    except AutoalignError as exc:
        return Checked(findings=[]), f"{type(exc).__name__}: {exc}"


def model_roles(config: AbConfig, arm: str) -> list[str]:
    """The roles arm `arm`'s critic asks (none for a programmatic critic)."""
    role = redteam_critic(config.arm(arm).critic).role
    return [role] if role is not None else []


async def run_ab(
    store: Store, config: AbConfig, *, on_task: TaskDone | None = None,
    clients: dict[str, ModelClient] | None = None,
) -> AbRunSummary:
    """Run (or resume) the A/B experiment `config` describes, storing one outcome per (task,
    arm) as soon as it is known.

    Args:
        store: the research database (the A/B tables are written; critics never read them).
        config: the experiment.
        on_task: told after each task finished (including those already stored).
        clients: a model client per arm for LLM critics (tests pass scripted ones); by
            default one is made per task from the arm's models with the task's seed.

    Raises:
        ConfigError: an experiment of that name exists with another config.
    """
    tasks = ab_tasks(store, config)
    experiment = store.start_ab_experiment(
        name=config.name, config=config.model_dump(mode="json"), config_digest=config.digest(),
        seed=config.seed, tasks=len(tasks),
    )
    critics = {arm: redteam_critic(config.arm(arm).critic, critic2=config.arm(arm).critic2)
               for arm in ARMS}
    views = {arm: view(config.arm(arm).view) for arm in ARMS}
    summary = AbRunSummary(
        experiment_id=experiment.id, name=experiment.name, status=experiment.status,
        tasks=len(tasks),
        critics={arm: f"{critics[arm].label} ({config.arm(arm).view})" for arm in ARMS},
    )
    if experiment.status == "stopped":  # the sequential test's decision is final
        return _finish(store, config, summary)
    stored = {(o.task_key, o.arm) for o in store.ab_outcomes(experiment.id)}
    say = on_task or (lambda _done, _all, _key: None)
    try:
        earlier = _sequential(config, pairs(store.ab_outcomes(experiment.id)))
        if earlier is not None and earlier.stopped:  # killed after the stopping task
            store.finish_ab_experiment(experiment.id, status="stopped",
                                       stopped_after=earlier.stopped_after,
                                       stop_statistic=earlier.likelihood_ratio)
            return _finish(store, config, summary)
        finished = len({k for k, _ in stored if (k, "A") in stored and (k, "B") in stored})
        for task in tasks:
            todo = [arm for arm in task.order if (task.key, arm) not in stored]
            if not todo:
                continue
            for arm in todo:
                summary.outcomes_written += await _run_arm(
                    store, experiment.id, task, arm, critics[arm], config, views[arm],
                    summary, clients,
                )
            finished += 1
            say(finished, len(tasks), task.key)
            result = _sequential(config, pairs(store.ab_outcomes(experiment.id)))
            if result is not None and result.stopped:
                store.finish_ab_experiment(experiment.id, status="stopped",
                                           stopped_after=result.stopped_after,
                                           stop_statistic=result.likelihood_ratio)
                return _finish(store, config, summary)
    except BaseException:
        store.finish_ab_experiment(experiment.id, status="failed")
        raise
    store.finish_ab_experiment(experiment.id, status="completed")
    return _finish(store, config, summary)


async def _run_arm(
    store: Store, experiment_id: int, task: AbTask, arm: str, critic: RedteamCritic,
    config: AbConfig, show: Callable[[Subject], Subject], summary: AbRunSummary,
    clients: dict[str, ModelClient] | None,
) -> int:
    """Run one arm on one task and store its outcome; 1 when a row was written."""
    async with AsyncExitStack() as stack:
        models = (clients or {}).get(arm)
        if models is None and critic.role is not None:
            models = await stack.enter_async_context(ModelClient(
                config=config.arm_models(arm), ledger=store, run_id=None, seed=task.seed,
            ))
        checked, error = await _check(critic, show(task.subject), models)
    found = checked.findings
    detected = (strict_match(task.change, found, clean=task.clean.subject)
                if task.change is not None else False)
    flagged = bool(found)
    dumped: list[dict[str, Any]] = [f.model_dump(mode="json") for f in found]
    if error is not None:
        dumped.append({"error": error[:2000]})
        summary.critic_errors += 1
    written = store.add_ab_outcome(
        experiment_id=experiment_id, task_key=task.key, task_index=task.index,
        task_seed=task.seed, arm=arm, position=task.order.index(arm),
        flaw_type=task.flaw_type, critic=critic.label, view=config.arm(arm).view,
        correct=detected if task.change is not None else not flagged, flagged=flagged,
        detected=detected, probability=checked.probability, severe=task.severe,
        error=error[:2000] if error is not None else None, findings=dumped,
    )
    return int(written)


def _finish(store: Store, config: AbConfig, summary: AbRunSummary) -> AbRunSummary:
    got = pairs(store.ab_outcomes(summary.experiment_id))
    summary.status = store.ab_experiment(summary.experiment_id).status
    summary.finished = len(got)
    summary.difference = paired_difference(got) if got else None
    summary.sequential = _sequential(config, got)
    return summary


def run_ab_sync(store: Store, config: AbConfig, *, on_task: TaskDone | None = None
                ) -> AbRunSummary:
    """Synchronous twin of `run_ab`, for the CLI (checks the arms' models first)."""
    for arm in ARMS:
        check_models(config.arm_models(arm), model_roles(config, arm))
    return asyncio.run(run_ab(store, config, on_task=on_task))


__all__ = ["ARMS", "AbRunSummary", "AbTask", "TaskDone", "ab_tasks", "model_roles", "pairs",
           "run_ab", "run_ab_sync"]
