"""Running a learning curve (`docs/learning.md`, "Learning curves"): rounds of new work judged
by critics that learn and critics that do not, a new flaw type from a known round on, labels
known a fixed number of rounds after their round.

Each round is one red-team experiment, `<curve>.r<k>`, in the red-team tables: its injections
(tampered copies of clean subjects made by the red team's programmatic injectors) and clean
controls, and one trial per (subject, critic) as the strict matcher judged it, the critic named
with the version that judged (`knn.<curve>@1+flaw_library.2`). Before a round the learners are
refitted from the labels (`collect_labels`, the `labels` table) of rounds at least
`label_delay` rounds back; a refit that changes what a learner knows is a new critic version.
A round whose experiment is `completed` is never run again, so a killed run resumes at the
round it was in (and, within it, at the first subject and critic with no trial).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import AutoalignError, ConfigError
from ..models import ModelClient, check_models
from ..redteam import (
    Change,
    Checked,
    CleanSubject,
    Subject,
    builtin_subjects,
    flaw_type,
    inject,
    redteam_critic,
    strict_match,
)
from ..store import InjectionRecord, LabelRecord, Store
from ._curve_config import KNN, LEARNERS, CurveConfig
from ._knn import fit_knn
from ._labels import collect_labels

RoundProgress = Callable[[int, int], None]
"""Told (rounds finished, rounds) as the curve goes."""


class Judge(Protocol):
    """A critic as a curve runs it: a red-team critic or a learner at one version."""

    @property
    def label(self) -> str:
        """`<id>@<version>`."""
        ...

    async def check(self, subject: Subject, *, models: ModelClient | None) -> Checked:
        """Its findings about `subject`."""
        ...


@dataclass(frozen=True, kw_only=True)
class _Case:
    key: str
    clean: CleanSubject
    subject: Subject
    change: Change | None = None


@dataclass(kw_only=True)
class CurveRun:
    """What one call of `run_curve` did."""

    name: str
    """The curve's name."""
    rounds_run: list[int] = field(default_factory=list)
    """Rounds this call ran (a resumed curve leaves out the completed ones)."""
    rounds_skipped: list[int] = field(default_factory=list)
    """Rounds already completed before this call (not run again)."""
    trials_written: int = 0
    """Trials this call stored."""
    critic_errors: int = 0
    """Critic checks that raised (stored as trials that flagged nothing, the error kept)."""
    versions: dict[int, dict[str, str]] = field(default_factory=dict)
    """Per round run: each critic's label (`id@version`) that judged it."""


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:6], "big")


def _round_digest(config: CurveConfig, round: int) -> str:
    return hashlib.sha256(f"{config.digest()}:{round}".encode()).hexdigest()


def _identity(inj: InjectionRecord | Change, clean_key: str) -> tuple[str, ...]:
    """What makes two injections the same flaw in the same subject (across rounds)."""
    start = inj.span_start if isinstance(inj, InjectionRecord) else inj.start
    return (clean_key, inj.flaw_type, inj.field, str(start), inj.after)


def _earlier(store: Store, config: CurveConfig, round: int) -> set[tuple[str, ...]]:
    """The injections earlier rounds of the curve made (a round makes new ones only)."""
    names = {config.round_name(r) for r in range(round)}
    seen: set[tuple[str, ...]] = set()
    for exp in store.redteam_experiments():
        if exp.name in names:
            seen |= {_identity(i, i.clean_key) for i in store.redteam_injections(exp.id)}
    return seen


def round_cases(store: Store, config: CurveConfig, round: int) -> list[_Case]:
    """The subjects of `round`: clean controls, then up to `per_type` tampered copies per flaw
    type, none made by an earlier round; the same on every call (seeded by round)."""
    pool = builtin_subjects()
    cases: list[_Case] = []
    for where in ("execution", "paper", "corpus"):
        of_kind = [c for c in pool if c.where == where]
        random.Random(_seed(config.seed, round, "controls", where)).shuffle(of_kind)
        cases += [_Case(key=f"{c.key}/control", clean=c, subject=c.subject)
                  for c in of_kind[: config.controls]]
    seen = _earlier(store, config, round)
    for type_id in config.types(round):
        ft = flaw_type(type_id)
        candidates = [c for c in pool if c.where == ft.where]
        made = 0
        for attempt in range(config.per_type * 20):
            if made == config.per_type or not candidates:
                break
            rng = random.Random(_seed(config.seed, round, type_id, attempt))
            clean = candidates[rng.randrange(len(candidates))]
            got = inject(type_id, clean.subject, seed=_seed(config.seed, round, type_id,
                                                            attempt, "inject"))
            if got is None or _identity(got.change, clean.key) in seen:
                continue
            seen.add(_identity(got.change, clean.key))
            cases.append(_Case(key=f"{clean.key}/{type_id}/programmatic/{made}", clean=clean,
                               subject=got.subject, change=got.change))
            made += 1
    return cases


def _round_of(config: CurveConfig, experiment: str) -> int | None:
    prefix = f"{config.name}.r"
    tail = experiment.removeprefix(prefix)
    return int(tail) if experiment.startswith(prefix) and tail.isdigit() else None


def known_labels(store: Store, config: CurveConfig, round: int) -> list[LabelRecord]:
    """The labels of the curve's rounds known by `round`: those of rounds at most
    `round - label_delay` (collected into the `labels` table first)."""
    collect_labels(store)
    out = []
    for label in store.labels():
        r = _round_of(config, label.source_ref.partition(":")[0])
        if r is not None and r <= round - config.label_delay:
            out.append(label)
    return out


def judges(store: Store, config: CurveConfig, round: int) -> list[tuple[Judge, str | None]]:
    """Each critic of the config at the version it judges `round` with, and the kind of subject
    it checks (None: every kind). Learners are refitted first (a new version when what they
    know changed)."""
    out: list[tuple[Judge, str | None]] = []
    labels: list[LabelRecord] | None = None
    for name in config.critics:
        if name == KNN:
            if labels is None:
                labels = known_labels(store, config, round)
            out.append((fit_knn(
                store, critic=config.learner_id(KNN), labels=labels,
                threshold=config.knn.threshold,
                reason=f"curve {config.name}, before round {round}: labels of rounds up to "
                       f"{round - config.label_delay}",
            ), None))
        else:
            critic = redteam_critic(name)
            out.append((critic, critic.where))
    return out


def model_roles(config: CurveConfig) -> list[str]:
    """The roles whose models the curve's LLM critics ask (none for programmatic ones)."""
    return sorted({r for name in config.critics if name not in LEARNERS
                   if (r := redteam_critic(name).role) is not None})


async def _check(judge: Judge, case: _Case, models: ModelClient | None
                 ) -> tuple[Checked, str | None]:
    try:
        return await judge.check(case.subject, models=models), None
    except AutoalignError as exc:
        return Checked(findings=[]), f"{type(exc).__name__}: {exc}"


async def _round(store: Store, config: CurveConfig, round: int, models: ModelClient | None,
                 run: CurveRun) -> None:
    experiment = store.start_redteam_experiment(
        name=config.round_name(round),
        config={"curve": config.model_dump(mode="json"), "round": round},
        config_digest=_round_digest(config, round),
        seed=config.seed,
    )
    try:
        chosen = judges(store, config, round)
        run.versions[round] = {j.label.partition("@")[0]: j.label for j, _ in chosen}
        stored = {(t.subject_key, t.critic) for t in store.redteam_trials(experiment.id)}
        known = {i.subject_key for i in store.redteam_injections(experiment.id)}
        for case in round_cases(store, config, round):
            todo = [j for j, where in chosen if where in (None, case.clean.where)
                    and (case.key, j.label) not in stored]
            if not todo:
                continue
            change = case.change
            if change is not None and case.key not in known:
                store.add_redteam_injection(
                    experiment_id=experiment.id, subject_key=case.key, clean_key=case.clean.key,
                    flaw_type=change.flaw_type, where=change.where, method=change.method,
                    source_artifact_id=case.clean.source_artifact, artifact_id=change.artifact_id,
                    field=change.field, span_start=change.start, span_end=change.end,
                    before=change.before, after=change.after, description=change.description,
                )
            for judge in todo:
                checked, error = await _check(judge, case, models)
                found = checked.findings
                detected = (strict_match(change, found, clean=case.clean.subject)
                            if change is not None else bool(found))
                dumped: list[dict[str, Any]] = [f.model_dump(mode="json") for f in found]
                if error is not None:
                    dumped.append({"error": error[:2000]})
                    run.critic_errors += 1
                if store.add_redteam_trial(
                    experiment_id=experiment.id, subject_key=case.key, critic=judge.label,
                    detected=detected, flagged=bool(found), probability=checked.probability,
                    severe=flaw_type(change.flaw_type).severe if change is not None else False,
                    matcher="strict", findings=dumped,
                ):
                    run.trials_written += 1
    except BaseException:
        store.finish_redteam_experiment(experiment.id, status="failed")
        raise
    store.finish_redteam_experiment(experiment.id, status="completed")


async def run_curve(
    store: Store, config: CurveConfig, *, models: ModelClient | None = None,
    progress: RoundProgress | None = None,
) -> CurveRun:
    """Run (or continue) the curve `config` describes, round by round.

    Args:
        store: the research database (red-team tables, labels and critic versions are written).
        config: the curve.
        models: the client for LLM critics; by default one made from `config.models` when an
            LLM critic is listed.
        progress: told (rounds finished, rounds) after each round, and once at the start.

    Raises:
        ConfigError: a round of that name exists with another config.
    """
    if models is None and model_roles(config):
        async with ModelClient(config=config.models, ledger=store, run_id=None,
                               seed=config.seed) as client:
            return await run_curve(store, config, models=client, progress=progress)
    tell = progress or (lambda _done, _total: None)
    done = {e.name for e in store.redteam_experiments() if e.status == "completed"}
    run = CurveRun(name=config.name)
    tell(sum(config.round_name(r) in done for r in range(config.rounds)), config.rounds)
    for r in range(config.rounds):
        if config.round_name(r) in done:
            existing = store.redteam_experiment(config.round_name(r))
            if existing.config_digest != _round_digest(config, r):
                raise ConfigError(
                    f"round {r} of curve {config.name!r} was run with another config; give "
                    "the new config another name", field="name",
                )
            run.rounds_skipped.append(r)
            continue
        await _round(store, config, r, models, run)
        run.rounds_run.append(r)
        tell(len(run.rounds_run) + len(run.rounds_skipped), config.rounds)
    return run


def run_curve_sync(
    store: Store, config: CurveConfig, *, progress: RoundProgress | None = None,
) -> CurveRun:
    """Synchronous twin of `run_curve`, for the CLI."""
    check_models(config.models, model_roles(config))
    return asyncio.run(run_curve(store, config, progress=progress))


__all__ = [
    "CurveRun",
    "Judge",
    "RoundProgress",
    "judges",
    "known_labels",
    "model_roles",
    "round_cases",
    "run_curve",
    "run_curve_sync",
]
