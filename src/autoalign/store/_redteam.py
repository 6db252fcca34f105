"""The red team's tables: experiments, the flaws they injected, and each critic's trial.

What was injected is kept here only: no artifact, flaw or prompt names it, and no critic reads
these tables (the red team hands critics the tampered subject itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import DataError
from ._experiments import find_named, start_named
from ._schema import RedteamExperiment, RedteamInjection, RedteamTrial, utcnow
from ._session import StoreBase


@dataclass(frozen=True, kw_only=True)
class RedteamExperimentRecord:
    """A red-team experiment."""

    id: int
    name: str
    config_digest: str
    config: dict[str, Any]
    seed: int
    status: str
    """`running`, `completed` or `failed`."""
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class InjectionRecord:
    """One injected flaw: the tampered subject's key and exactly what changed, where."""

    id: int
    experiment_id: int
    subject_key: str
    clean_key: str
    flaw_type: str
    where: str
    method: str
    source_artifact_id: int | None
    artifact_id: int | None
    field: str
    span_start: int | None
    span_end: int | None
    before: str
    after: str
    description: str


@dataclass(frozen=True, kw_only=True)
class TrialRecord:
    """One critic run on one subject, as one matcher judged it."""

    id: int
    experiment_id: int
    subject_key: str
    critic: str
    detected: bool
    flagged: bool
    probability: float | None
    severe: bool
    matcher: str
    findings: list[dict[str, Any]]
    created_at: datetime | None = None
    """When the trial was recorded."""


def _experiment(row: RedteamExperiment) -> RedteamExperimentRecord:
    return RedteamExperimentRecord(
        id=row.id, name=row.name, config_digest=row.config_digest, config=dict(row.config),
        seed=row.seed, status=row.status, created_at=row.created_at, finished_at=row.finished_at,
    )


def _injection(row: RedteamInjection) -> InjectionRecord:
    return InjectionRecord(
        id=row.id, experiment_id=row.experiment_id, subject_key=row.subject_key,
        clean_key=row.clean_key, flaw_type=row.flaw_type, where=row.where, method=row.method,
        source_artifact_id=row.source_artifact_id, artifact_id=row.artifact_id, field=row.field,
        span_start=row.span_start, span_end=row.span_end, before=row.before, after=row.after,
        description=row.description,
    )


def _trial(row: RedteamTrial) -> TrialRecord:
    return TrialRecord(
        id=row.id, experiment_id=row.experiment_id, subject_key=row.subject_key,
        critic=row.critic, detected=row.detected, flagged=row.flagged,
        probability=row.probability, severe=row.severe, matcher=row.matcher,
        findings=list(row.findings or []), created_at=row.created_at,
    )


class RedteamMixin(StoreBase):
    """Red-team experiments, injections and trials."""

    def start_redteam_experiment(
        self, *, name: str, config: dict[str, Any], config_digest: str, seed: int,
    ) -> RedteamExperimentRecord:
        """The experiment called `name`, created if new, set running again if it exists.

        Raises:
            ConfigError: an experiment of that name exists with another config.
        """
        start_named(
            self, RedteamExperiment, what="red-team experiment", name=name,
            config_digest=config_digest,
            new=lambda: RedteamExperiment(name=name, config_digest=config_digest, config=config,
                                          seed=seed, status="running"),
        )
        return self.redteam_experiment(name)

    def redteam_experiment(self, name_or_id: str | int) -> RedteamExperimentRecord:
        """An experiment by name or id.

        Raises:
            DataError: there is no such experiment.
        """
        with self._read() as s:
            row = find_named(s, RedteamExperiment, name_or_id)
        if row is None:
            raise DataError(f"no red-team experiment {name_or_id!r}; run `autoalign redteam "
                            "run CONFIG` first")
        return _experiment(row)

    def redteam_experiments(self) -> list[RedteamExperimentRecord]:
        """Every experiment, oldest first."""
        with self._read() as s:
            rows = list(s.scalars(select(RedteamExperiment).order_by(RedteamExperiment.id)))
        return [_experiment(r) for r in rows]

    def finish_redteam_experiment(self, experiment_id: int, *, status: str) -> None:
        """Mark an experiment `completed` or `failed`."""
        with self._write() as s:
            row = s.get(RedteamExperiment, experiment_id)
            if row is None:
                raise DataError(f"no red-team experiment with id {experiment_id}")
            row.status, row.updated_at, row.finished_at = status, utcnow(), utcnow()

    def add_redteam_injection(
        self, *, experiment_id: int, subject_key: str, clean_key: str, flaw_type: str,
        where: str, method: str, source_artifact_id: int | None, artifact_id: int | None,
        field: str, span_start: int | None, span_end: int | None, before: str, after: str,
        description: str,
    ) -> InjectionRecord:
        """Store an injection (once: a second call with the same subject key returns the
        first row)."""
        existing = self._injection(experiment_id, subject_key)
        if existing is not None:
            return existing
        try:
            with self._write() as s:
                s.add(RedteamInjection(
                    experiment_id=experiment_id, subject_key=subject_key, clean_key=clean_key,
                    flaw_type=flaw_type, where=where, method=method,
                    source_artifact_id=source_artifact_id, artifact_id=artifact_id, field=field,
                    span_start=span_start, span_end=span_end, before=before, after=after,
                    description=description,
                ))
        except IntegrityError:
            pass
        found = self._injection(experiment_id, subject_key)
        assert found is not None
        return found

    def _injection(self, experiment_id: int, subject_key: str) -> InjectionRecord | None:
        with self._read() as s:
            row = s.scalars(select(RedteamInjection).where(
                RedteamInjection.experiment_id == experiment_id,
                RedteamInjection.subject_key == subject_key,
            )).first()
        return _injection(row) if row is not None else None

    def redteam_injections(self, experiment_id: int) -> list[InjectionRecord]:
        """The experiment's injections, in the order they were made."""
        with self._read() as s:
            rows = list(s.scalars(select(RedteamInjection).where(
                RedteamInjection.experiment_id == experiment_id).order_by(RedteamInjection.id)))
        return [_injection(r) for r in rows]

    def add_redteam_trial(
        self, *, experiment_id: int, subject_key: str, critic: str, detected: bool,
        flagged: bool, probability: float | None, severe: bool, matcher: str,
        findings: list[dict[str, Any]],
    ) -> bool:
        """Store a trial; False (and nothing written) when the experiment already has one for
        this subject, critic and matcher."""
        try:
            with self._write() as s:
                s.add(RedteamTrial(
                    experiment_id=experiment_id, subject_key=subject_key, critic=critic,
                    detected=detected, flagged=flagged, probability=probability, severe=severe,
                    matcher=matcher, findings=findings,
                ))
        except IntegrityError:
            return False
        return True

    def redteam_trials(self, experiment_id: int) -> list[TrialRecord]:
        """The experiment's trials, in the order they were recorded."""
        with self._read() as s:
            rows = list(s.scalars(select(RedteamTrial).where(
                RedteamTrial.experiment_id == experiment_id).order_by(RedteamTrial.id)))
        return [_trial(r) for r in rows]


__all__ = ["InjectionRecord", "RedteamExperimentRecord", "RedteamMixin", "TrialRecord"]
