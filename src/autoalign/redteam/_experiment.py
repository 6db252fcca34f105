"""A red-team experiment: sample clean subjects, inject known flaws, keep clean controls, run
the chosen critics on every subject, match their findings to the injected flaw, and store one
trial per (subject, critic, matcher). Re-running the same config continues: nothing stored is
made, asked or written again.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..calibration import Interval, wilson_interval
from ..errors import AutoalignError
from ..models import ModelClient, check_models
from ..store import InjectionRecord, Store
from ..vocabulary import Role
from ._adjudicate import request_adjudication
from ._change import Change, Injected
from ._config import RedteamConfig
from ._critics import Checked, RedteamCritic, redteam_critic
from ._flaws import WHERES, FlawType, flaw_type
from ._llm_inject import llm_inject
from ._match import llm_match, strict_match
from ._registry import inject
from ._subjects import CleanSubject, Subject, builtin_subjects
from ._trial import Trial

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class _Case:
    """One subject critics are shown: a tampered copy (with its change) or a clean control."""

    key: str
    clean: CleanSubject
    subject: Subject
    change: Change | None = None


@dataclass(frozen=True, kw_only=True)
class Tally:
    """One cell of the summary: a critic on one flaw type (or the controls), one matcher."""

    critic: str
    """`<critic id>@<version>`."""
    flaw_type: str | None
    """The flaw type; None for the clean controls (then `detected` counts false alarms)."""
    matcher: str
    """`strict` or `llm`."""
    detected: int
    """Trials detected (on controls: flagged)."""
    n: int
    """Trials."""

    @property
    def interval(self) -> Interval:
        """Wilson 95% interval of detected / n."""
        return wilson_interval(self.detected, self.n)


@dataclass(kw_only=True)
class ExperimentSummary:
    """What a run of an experiment did, and its trials' counts."""

    experiment_id: int
    """The experiment's id."""
    name: str
    """Its name."""
    tallies: list[Tally]
    """Per critic, flaw type and matcher: detected / n."""
    trials_written: int = 0
    """Trials this run stored (0 on a re-run of a finished experiment)."""
    requested: dict[str, int] = field(default_factory=dict)
    """Per flaw type and injector (`<type>/<method>`): distinct injections asked for."""
    made: dict[str, int] = field(default_factory=dict)
    """Per flaw type and injector: distinct injections made (fewer when the clean subjects
    admit fewer, or the LLM's edits were invalid)."""
    critic_errors: int = 0
    """Critic checks that raised (stored as trials that flagged nothing, the error kept)."""
    agreement: tuple[int, int] | None = None
    """When the LLM matcher ran: (trials where it agrees with the strict matcher, paired
    trials on injected subjects)."""
    adjudications: list[int] = field(default_factory=list)
    """Review requests asking a human whether a flagged control from the database is clean
    (a false alarm) or has a real flaw (`request_adjudication`)."""


def _digest(subject: Subject) -> str:
    return hashlib.sha256(subject.model_dump_json().encode()).hexdigest()


def clean_subjects(store: Store, config: RedteamConfig) -> list[CleanSubject]:
    """The clean subjects the config's sources give, built-in first."""
    found: list[CleanSubject] = []
    if "builtin" in config.sources:
        found += builtin_subjects()
    if "database" in config.sources:
        from ._database import database_subjects

        found += database_subjects(store)
    return found


async def _injections(
    ft: FlawType, method: str, pool: list[CleanSubject], config: RedteamConfig, *,
    done: Callable[[str], bool], models: ModelClient | None, experiment: str,
) -> tuple[list[_Case], int]:
    """Up to `injections_per_type` distinct tampered subjects of type `ft` by `method`, and how
    many LLM injections were left out because every trial on them is stored (they are not
    asked again)."""
    want = config.injections_per_type
    cases: list[_Case] = []
    if not pool:
        return cases, 0
    if method == "programmatic":
        seen: set[str] = set()
        for attempt in range(want * 20):
            clean = pool[random.Random(f"{config.seed}:{ft.id}:{attempt}").randrange(len(pool))]
            made = inject(ft.id, clean.subject, seed=config.seed * 1_000_003 + attempt)
            if made is None or _digest(made.subject) in seen:
                continue
            seen.add(_digest(made.subject))
            cases.append(_Case(key=f"{clean.key}/{ft.id}/programmatic/{len(cases)}", clean=clean,
                               subject=made.subject, change=made.change))
            if len(cases) == want:
                break
        return cases, 0
    assert models is not None
    finished = 0
    for i in range(want):
        clean = pool[i % len(pool)]
        key = f"{clean.key}/{ft.id}/llm/{i}"
        if done(key):
            finished += 1
            continue
        made_llm: Injected[Any] | None = await llm_inject(
            ft, clean.subject, models=models, step_key=f"redteam/{experiment}/inject/{key}",
            sample=i,
        )
        if made_llm is not None:
            cases.append(_Case(key=key, clean=clean, subject=made_llm.subject,
                               change=made_llm.change))
    return cases, finished


def _controls(pool: list[CleanSubject], config: RedteamConfig) -> list[_Case]:
    cases = []
    for where in WHERES:
        of_kind = [c for c in pool if c.where == where]
        random.Random(f"{config.seed}:controls:{where}").shuffle(of_kind)
        cases += [_Case(key=f"{c.key}/control", clean=c, subject=c.subject)
                  for c in of_kind[: config.controls]]
    return cases


def _store_injection(store: Store, experiment_id: int, case: _Case) -> None:
    change = case.change
    assert change is not None
    store.add_redteam_injection(
        experiment_id=experiment_id, subject_key=case.key, clean_key=case.clean.key,
        flaw_type=change.flaw_type, where=change.where, method=change.method,
        source_artifact_id=case.clean.source_artifact, artifact_id=change.artifact_id,
        field=change.field, span_start=change.start, span_end=change.end, before=change.before,
        after=change.after, description=change.description,
    )


async def _check(
    critic: RedteamCritic, case: _Case, models: ModelClient | None,
) -> tuple[Checked, str | None]:
    try:
        return await critic.check(case.subject, models=models), None
    except AutoalignError as exc:
        return Checked(findings=[]), f"{type(exc).__name__}: {exc}"


async def run_experiment(
    store: Store, config: RedteamConfig, *, models: ModelClient | None = None,
    progress: Progress | None = None,
) -> ExperimentSummary:
    """Run (or continue) the experiment `config` describes, storing its injections and trials.

    Args:
        store: the research database (the red-team tables are written; critics never read them).
        config: the experiment.
        models: the model client for LLM critics, the LLM injector and matcher (calls are
            ledgered and cached, outside any run); by default one made from `config.models`
            (with the config's seed) when one of those is used.
        progress: told one line per subject checked.

    Raises:
        ConfigError: an experiment of that name exists with another config.
    """
    say = progress or (lambda _line: None)
    experiment = store.start_redteam_experiment(
        name=config.name, config=config.model_dump(mode="json"), config_digest=config.digest(),
        seed=config.seed,
    )
    critics = [redteam_critic(c, critic2=config.critic2) for c in config.critics]
    if models is None and model_roles(config):
        async with ModelClient(config=config.models, ledger=store, run_id=None,
                               seed=config.seed) as client:
            return await run_experiment(store, config, models=client, progress=progress)
    matchers = ["strict", *(["llm"] if config.llm_matcher else [])]
    stored = {(t.subject_key, t.critic, t.matcher) for t in store.redteam_trials(experiment.id)}

    def wanted(key: str, where: str) -> list[tuple[RedteamCritic, str]]:
        return [(c, m) for c in critics if c.where == where for m in matchers
                if (key, c.label, m) not in stored]

    try:
        pool = clean_subjects(store, config)
        summary = ExperimentSummary(experiment_id=experiment.id, name=experiment.name, tallies=[])
        cases = _controls(pool, config)
        methods = {"programmatic": ["programmatic"], "llm": ["llm"],
                   "both": ["programmatic", "llm"]}[config.injector]
        for type_id in config.types():
            ft = flaw_type(type_id)
            for method in methods:
                made, finished = await _injections(
                    ft, method, [c for c in pool if c.where == ft.where], config,
                    done=_done(wanted, ft.where), models=models,
                    experiment=config.name,
                )
                summary.requested[f"{ft.id}/{method}"] = config.injections_per_type
                summary.made[f"{ft.id}/{method}"] = len(made) + finished
                cases += made
        known = {i.subject_key for i in store.redteam_injections(experiment.id)}
        for case in cases:
            todo = wanted(case.key, case.clean.where)
            if not todo:
                continue
            if case.change is not None and case.key not in known:
                _store_injection(store, experiment.id, case)
            say(f"{case.key}: {len({c.label for c, _ in todo})} critic(s)")
            findings: dict[str, tuple[Checked, str | None]] = {}
            for critic, matcher in todo:
                if critic.label not in findings:
                    findings[critic.label] = await _check(critic, case, models)
                checked, error = findings[critic.label]
                found = checked.findings
                if matcher == "strict" or case.change is None:
                    detected = (strict_match(case.change, found, clean=case.clean.subject)
                                if case.change is not None else bool(found))
                else:
                    assert models is not None
                    detected = await llm_match(
                        case.change, found, models=models,
                        step_key=f"redteam/{config.name}/match/{case.key}/{critic.label}",
                    )
                dumped: list[dict[str, Any]] = [f.model_dump(mode="json") for f in found]
                if error is not None:
                    dumped.append({"error": error[:2000]})
                    summary.critic_errors += 1
                severe = flaw_type(case.change.flaw_type).severe if case.change else False
                if store.add_redteam_trial(
                    experiment_id=experiment.id, subject_key=case.key, critic=critic.label,
                    detected=detected, flagged=bool(found), probability=checked.probability,
                    severe=severe,
                    matcher=matcher, findings=dumped,
                ):
                    summary.trials_written += 1
    except BaseException:
        store.finish_redteam_experiment(experiment.id, status="failed")
        raise
    summary.adjudications = _adjudicate(store, experiment.id, cases)
    store.finish_redteam_experiment(experiment.id, status="completed")
    got = trials(store, experiment.id)
    summary.tallies = tally(got)
    summary.agreement = agreement(got) if config.llm_matcher else None
    return summary


def _adjudicate(store: Store, experiment_id: int, cases: list[_Case]) -> list[int]:
    """Open (or find) a review request for every control from the database that a critic
    flagged: a clean artifact can have a real flaw, so the flag is a false alarm only once a
    human says so. Read from the stored trials, so a resumed experiment asks too."""
    sources = {c.key: c.clean.source_artifact for c in cases
               if c.change is None and c.clean.source_artifact is not None}
    flagged: dict[int, set[str]] = {}
    for t in store.redteam_trials(experiment_id):
        artifact = sources.get(t.subject_key)
        if artifact is not None and t.flagged and t.matcher == "strict":
            flagged.setdefault(artifact, set()).add(t.critic)
    return request_adjudication(store, flagged)


def model_roles(config: RedteamConfig) -> list[str]:
    """The roles whose models the experiment asks (none for programmatic critics only)."""
    roles: set[str] = set()
    for critic in map(redteam_critic, config.critics):
        if critic.role is not None:  # an LLM critic asks its own role
            roles.add(critic.role)
    if config.injector != "programmatic" or config.llm_matcher:
        roles.add(Role.RED_TEAM.value)
    return sorted(roles)


def run_experiment_sync(
    store: Store, config: RedteamConfig, *, progress: Progress | None = None,
) -> ExperimentSummary:
    """Synchronous twin of `run_experiment`, for the CLI."""
    check_models(config.models, model_roles(config))
    return asyncio.run(run_experiment(store, config, progress=progress))


def _done(
    wanted: Callable[[str, str], list[tuple[RedteamCritic, str]]], where: str,
) -> Callable[[str], bool]:
    """Whether every trial on the subject `key` (of `where`) is stored."""
    return lambda key: not wanted(key, where)


def trials(store: Store, experiment_id: int) -> list[Trial]:
    """Every trial of the experiment, as the statistics read them (the injected flaw's type,
    where and method joined from the injections; None for a control)."""
    injections: dict[str, InjectionRecord] = {
        i.subject_key: i for i in store.redteam_injections(experiment_id)
    }
    out = []
    for t in store.redteam_trials(experiment_id):
        inj = injections.get(t.subject_key)
        out.append(Trial(
            subject=t.subject_key, critic=t.critic,
            flaw_type=inj.flaw_type if inj else None, where=inj.where if inj else None,
            method=inj.method if inj else None, detected=t.detected, flagged=t.flagged,
            probability=t.probability, severe=t.severe, matcher=t.matcher,
        ))
    return out


def tally(got: list[Trial]) -> list[Tally]:
    """detected / n per critic, flaw type (None: controls) and matcher, in first-seen order."""
    counts: dict[tuple[str, str | None, str], list[int]] = {}
    for t in got:
        cell = counts.setdefault((t.critic, t.flaw_type, t.matcher), [0, 0])
        cell[0] += int(t.detected)
        cell[1] += 1
    return [Tally(critic=c, flaw_type=f, matcher=m, detected=d, n=n)
            for (c, f, m), (d, n) in sorted(counts.items(), key=lambda kv: (
                kv[0][0], kv[0][1] is None, kv[0][1] or "", kv[0][2]))]


def agreement(got: list[Trial]) -> tuple[int, int]:
    """(trials on injected subjects where the LLM and strict matchers agree, such pairs)."""
    strict = {(t.subject, t.critic): t.detected for t in got
              if t.matcher == "strict" and not t.control}
    pairs = [(strict[(t.subject, t.critic)], t.detected) for t in got
             if t.matcher == "llm" and (t.subject, t.critic) in strict]
    return sum(1 for a, b in pairs if a == b), len(pairs)


__all__ = [
    "ExperimentSummary", "Tally", "agreement", "model_roles", "run_experiment",
    "run_experiment_sync", "tally", "trials",
]
