"""Safety cases in the database: which cases are registered for it, and every evaluation as an
immutable snapshot (written by `autoalign.case`; rows are only ever added)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..errors import DataError
from ._schema import CaseRegistration, CaseSnapshot
from ._session import StoreBase


@dataclass(frozen=True, kw_only=True)
class CaseRegistrationRecord:
    """A registered case."""

    id: int
    name: str
    path: str
    redteam_report: str | None
    redteam_experiment: str | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class CaseSnapshotRecord:
    """One stored evaluation of a case."""

    id: int
    case_name: str
    digest: str
    evaluated_at: datetime
    content: dict[str, Any]
    created_at: datetime


def _registration(row: CaseRegistration) -> CaseRegistrationRecord:
    return CaseRegistrationRecord(
        id=row.id, name=row.name, path=row.path, redteam_report=row.redteam_report,
        redteam_experiment=row.redteam_experiment, created_at=row.created_at,
    )


def _snapshot(row: CaseSnapshot) -> CaseSnapshotRecord:
    return CaseSnapshotRecord(
        id=row.id, case_name=row.case_name, digest=row.digest, evaluated_at=row.evaluated_at,
        content=dict(row.content), created_at=row.created_at,
    )


class CasesMixin(StoreBase):
    """Registered safety cases and their snapshots."""

    def register_case(
        self, *, name: str, path: str, redteam_report: str | None = None,
        redteam_experiment: str | None = None,
    ) -> CaseRegistrationRecord:
        """Register a case under `name`; registering a name again points it at the new file
        and inputs (its snapshots stay)."""
        with self._write() as s:
            row = s.scalars(select(CaseRegistration).where(CaseRegistration.name == name)).first()
            if row is None:
                row = CaseRegistration(name=name, path=path)
                s.add(row)
            row.path = path
            row.redteam_report = redteam_report
            row.redteam_experiment = redteam_experiment
            s.flush()
            return _registration(row)

    def registered_cases(self) -> list[CaseRegistrationRecord]:
        """Every registered case, in registration order."""
        with self._read() as s:
            rows = s.scalars(select(CaseRegistration).order_by(CaseRegistration.id))
            return [_registration(r) for r in rows]

    def add_case_snapshot(
        self, *, case_name: str, digest: str, evaluated_at: datetime, content: dict[str, Any],
    ) -> CaseSnapshotRecord:
        """Store one evaluation; snapshots are never changed afterwards."""
        with self._write() as s:
            row = CaseSnapshot(case_name=case_name, digest=digest, evaluated_at=evaluated_at,
                               content=content)
            s.add(row)
            s.flush()
            return _snapshot(row)

    def case_snapshots(self, *, case_name: str | None = None) -> list[CaseSnapshotRecord]:
        """Snapshots oldest first, of one case or of all."""
        query = select(CaseSnapshot).order_by(CaseSnapshot.id)
        if case_name is not None:
            query = query.where(CaseSnapshot.case_name == case_name)
        with self._read() as s:
            return [_snapshot(r) for r in s.scalars(query)]

    def case_snapshot(self, snapshot_id: int) -> CaseSnapshotRecord:
        """One snapshot.

        Raises:
            DataError: no snapshot has that id.
        """
        with self._read() as s:
            row = s.get(CaseSnapshot, snapshot_id)
            if row is None:
                raise DataError(f"no case snapshot {snapshot_id}; `autoalign case snapshots` "
                                "lists them")
            return _snapshot(row)


__all__ = ["CaseRegistrationRecord", "CaseSnapshotRecord", "CasesMixin"]
