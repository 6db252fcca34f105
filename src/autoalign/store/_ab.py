"""The A/B tables: experiments comparing two component variants on paired tasks, and one
outcome per (task, arm). Outcomes are only ever added; a resumed experiment skips what is
stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import DataError
from ._experiments import find_named, running_again, start_named
from ._schema import AbExperiment, AbOutcome, utcnow
from ._session import StoreBase

AB_STATUSES = ("running", "completed", "stopped", "failed")
"""An A/B experiment's statuses (`stopped`: the sequential test stopped it early)."""


@dataclass(frozen=True, kw_only=True)
class AbExperimentRecord:
    """An A/B experiment."""

    id: int
    name: str
    config_digest: str
    config: dict[str, Any]
    seed: int
    status: str
    """`running`, `completed`, `stopped` or `failed`."""
    tasks: int
    """Tasks the config makes."""
    stopped_after: int | None
    """Tasks finished when the sequential test stopped it; None when it did not."""
    stop_statistic: float | None
    """The mixture likelihood ratio at the stop."""
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class AbOutcomeRecord:
    """One task under one arm."""

    id: int
    experiment_id: int
    task_key: str
    task_index: int
    task_seed: int
    arm: str
    position: int
    flaw_type: str | None
    critic: str
    view: str
    correct: bool
    flagged: bool
    detected: bool
    probability: float | None
    severe: bool
    error: str | None
    findings: list[dict[str, Any]]


def _experiment(row: AbExperiment) -> AbExperimentRecord:
    return AbExperimentRecord(
        id=row.id, name=row.name, config_digest=row.config_digest, config=dict(row.config),
        seed=row.seed, status=row.status, tasks=row.tasks, stopped_after=row.stopped_after,
        stop_statistic=row.stop_statistic, created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _outcome(row: AbOutcome) -> AbOutcomeRecord:
    return AbOutcomeRecord(
        id=row.id, experiment_id=row.experiment_id, task_key=row.task_key,
        task_index=row.task_index, task_seed=row.task_seed, arm=row.arm, position=row.position,
        flaw_type=row.flaw_type, critic=row.critic, view=row.view, correct=row.correct,
        flagged=row.flagged, detected=row.detected, probability=row.probability,
        severe=row.severe, error=row.error, findings=list(row.findings or []),
    )


class AbMixin(StoreBase):
    """A/B experiments and their outcomes."""

    def start_ab_experiment(
        self, *, name: str, config: dict[str, Any], config_digest: str, seed: int, tasks: int,
    ) -> AbExperimentRecord:
        """The A/B experiment called `name`, created if new; an existing one is set running
        again (new tasks from the database may have appeared), except one the sequential test
        stopped, whose decision is final.

        Raises:
            ConfigError: an experiment of that name exists with another config.
        """
        def again(row: AbExperiment) -> None:
            if row.status != "stopped":  # the sequential test's stop is final
                running_again(row)
                row.tasks = tasks

        start_named(
            self, AbExperiment, what="A/B experiment", name=name, config_digest=config_digest,
            new=lambda: AbExperiment(name=name, config_digest=config_digest, config=config,
                                     seed=seed, status="running", tasks=tasks),
            again=again,
        )
        return self.ab_experiment(name)

    def ab_experiment(self, name_or_id: str | int) -> AbExperimentRecord:
        """An A/B experiment by name or id.

        Raises:
            DataError: there is no such experiment.
        """
        with self._read() as s:
            row = find_named(s, AbExperiment, name_or_id)
        if row is None:
            raise DataError(f"no A/B experiment {name_or_id!r}; run `autoalign ab run CONFIG` "
                            "first")
        return _experiment(row)

    def ab_experiments(self) -> list[AbExperimentRecord]:
        """Every A/B experiment, oldest first."""
        with self._read() as s:
            rows = list(s.scalars(select(AbExperiment).order_by(AbExperiment.id)))
        return [_experiment(r) for r in rows]

    def finish_ab_experiment(
        self, experiment_id: int, *, status: str, stopped_after: int | None = None,
        stop_statistic: float | None = None,
    ) -> None:
        """Mark an experiment `completed`, `stopped` (with when and the statistic) or `failed`.

        Raises:
            DataError: no such experiment, or an unknown status.
        """
        if status not in AB_STATUSES:
            raise DataError(f"unknown A/B status {status!r}; one of {', '.join(AB_STATUSES)}")
        with self._write() as s:
            row = s.get(AbExperiment, experiment_id)
            if row is None:
                raise DataError(f"no A/B experiment with id {experiment_id}")
            row.status, row.updated_at, row.finished_at = status, utcnow(), utcnow()
            if status == "stopped":
                row.stopped_after, row.stop_statistic = stopped_after, stop_statistic

    def add_ab_outcome(
        self, *, experiment_id: int, task_key: str, task_index: int, task_seed: int, arm: str,
        position: int, flaw_type: str | None, critic: str, view: str, correct: bool,
        flagged: bool, detected: bool, probability: float | None, severe: bool,
        error: str | None, findings: list[dict[str, Any]],
    ) -> bool:
        """Store one task's outcome under one arm; False (and nothing written) when the
        experiment already has it."""
        try:
            with self._write() as s:
                s.add(AbOutcome(
                    experiment_id=experiment_id, task_key=task_key, task_index=task_index,
                    task_seed=task_seed, arm=arm, position=position, flaw_type=flaw_type,
                    critic=critic, view=view, correct=correct, flagged=flagged,
                    detected=detected, probability=probability, severe=severe, error=error,
                    findings=findings,
                ))
        except IntegrityError:
            return False
        return True

    def ab_outcomes(self, experiment_id: int) -> list[AbOutcomeRecord]:
        """The experiment's outcomes, in the order they were recorded."""
        with self._read() as s:
            rows = list(s.scalars(select(AbOutcome).where(
                AbOutcome.experiment_id == experiment_id).order_by(AbOutcome.id)))
        return [_outcome(r) for r in rows]


__all__ = ["AB_STATUSES", "AbExperimentRecord", "AbMixin", "AbOutcomeRecord"]
