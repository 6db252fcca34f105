"""Labels and critic versions (`docs/learning.md`): the truth about subjects, with what each
critic version said about them, and the updates made from that truth. Rows are only added."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_

from ..errors import DataError
from ..vocabulary import LabelKind, LabelSource, UpdateKind
from ._schema import CriticVersion, Label
from ._session import StoreBase

_CHUNK = 400
"""Keys looked up per query when checking which labels exist (keeps IN lists short)."""


@dataclass(frozen=True, kw_only=True)
class NewLabel:
    """A label to add (`Store.add_labels`); see the `labels` table for each field."""

    kind: LabelKind
    source: LabelSource
    source_ref: str
    subject: str
    present: bool
    severe: bool
    known_at: datetime
    artifact_id: int | None = None
    flaw_id: int | None = None
    flaw_type: str | None = None
    critic: str = ""
    detected: bool | None = None
    probability: float | None = None
    detail: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes a label unique: its source record and the critic version judged."""
        return (self.source.value, self.source_ref, self.critic)


@dataclass(frozen=True, kw_only=True)
class LabelRecord(NewLabel):
    """A stored label."""

    id: int
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class CriticVersionRecord:
    """A stored critic version (an update, applied or rejected)."""

    id: int
    critic: str
    version: str
    base_version: str
    update: UpdateKind
    parent_id: int | None
    params: dict[str, Any]
    evidence: dict[str, Any]
    applied: bool
    reason: str
    created_at: datetime

    @property
    def label(self) -> str:
        """`<critic>@<version>`, as results name it."""
        return f"{self.critic}@{self.version}"


def _label(row: Label) -> LabelRecord:
    return LabelRecord(
        id=row.id, kind=LabelKind(row.kind), source=LabelSource(row.source),
        source_ref=row.source_ref, subject=row.subject, present=row.present, severe=row.severe,
        known_at=row.known_at, artifact_id=row.artifact_id, flaw_id=row.flaw_id,
        flaw_type=row.flaw_type, critic=row.critic, detected=row.detected,
        probability=row.probability, detail=row.detail, created_at=row.created_at,
    )


def _version(row: CriticVersion) -> CriticVersionRecord:
    return CriticVersionRecord(
        id=row.id, critic=row.critic, version=row.version, base_version=row.base_version,
        update=UpdateKind(row.update), parent_id=row.parent_id, params=dict(row.params),
        evidence=dict(row.evidence), applied=row.applied, reason=row.reason,
        created_at=row.created_at,
    )


class LabelsMixin(StoreBase):
    """The `labels` and `critic_versions` tables."""

    def add_labels(self, labels: Iterable[NewLabel]) -> list[int]:
        """Add the labels not stored yet (by source record and critic version); returns the
        new rows' ids. Adding the same labels again adds nothing, so collecting is idempotent."""
        wanted: dict[tuple[str, str, str], NewLabel] = {}
        for label in labels:
            if label.probability is not None and not 0.0 <= label.probability <= 1.0:
                raise DataError(f"label {label.source.value}:{label.source_ref}: probability "
                                f"{label.probability} is outside [0, 1]")
            wanted.setdefault(label.key, label)
        if not wanted:
            return []
        with self._write() as s:
            keys = list(wanted)
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i:i + _CHUNK]
                found = s.execute(select(Label.source, Label.source_ref, Label.critic).where(
                    tuple_(Label.source, Label.source_ref, Label.critic).in_(chunk)))
                for row in found:
                    wanted.pop((row[0], row[1], row[2]), None)
            rows = [Label(
                kind=n.kind.value, source=n.source.value, source_ref=n.source_ref,
                subject=n.subject, artifact_id=n.artifact_id, flaw_id=n.flaw_id,
                flaw_type=n.flaw_type, present=n.present, severe=n.severe, critic=n.critic,
                detected=n.detected, probability=n.probability, detail=n.detail,
                known_at=n.known_at,
            ) for n in wanted.values()]
            s.add_all(rows)
            s.flush()
            return [r.id for r in rows]

    def labels(
        self,
        *,
        kinds: Sequence[LabelKind] | None = None,
        critic: str | None = None,
        critic_id: str | None = None,
        known_before: datetime | None = None,
        with_probability: bool = False,
    ) -> list[LabelRecord]:
        """Labels in id order, filtered by kind, by critic version (`id@version`) or critic id
        (any version), by when they became known (strictly before), and to those with a stated
        probability."""
        query = select(Label).order_by(Label.id)
        if kinds is not None:
            query = query.where(Label.kind.in_([k.value for k in kinds]))
        if critic is not None:
            query = query.where(Label.critic == critic)
        if critic_id is not None:
            query = query.where(Label.critic.like(f"{critic_id}@%"))
        if known_before is not None:
            query = query.where(Label.known_at < known_before)
        if with_probability:
            query = query.where(Label.probability.is_not(None))
        with self._read() as s:
            return [_label(r) for r in s.scalars(query)]

    def add_critic_version(
        self,
        *,
        critic: str,
        base_version: str,
        update: UpdateKind,
        params: dict[str, Any],
        evidence: dict[str, Any],
        applied: bool,
        reason: str,
    ) -> CriticVersionRecord:
        """Record an update to `critic`, applied or rejected. Its version is the base version
        plus the update and a number counting that critic's updates of that kind
        (`1+recalibration.2`); its parent is the version in use before it."""
        with self._write() as s:
            mine = list(s.scalars(select(CriticVersion).where(
                CriticVersion.critic == critic).order_by(CriticVersion.id)))
            count = sum(1 for r in mine if r.update == update.value) + 1
            parent = next((r for r in reversed(mine) if r.applied), None)
            row = CriticVersion(
                critic=critic, version=f"{base_version}+{update.value}.{count}",
                base_version=base_version, update=update.value,
                parent_id=parent.id if parent is not None else None, params=params,
                evidence=evidence, applied=applied, reason=reason,
            )
            s.add(row)
            s.flush()
            return _version(row)

    def critic_versions(self, *, critic: str | None = None) -> list[CriticVersionRecord]:
        """Critic versions oldest first, of one critic or of all."""
        query = select(CriticVersion).order_by(CriticVersion.id)
        if critic is not None:
            query = query.where(CriticVersion.critic == critic)
        with self._read() as s:
            return [_version(r) for r in s.scalars(query)]

    def active_update(self, critic: str, update: UpdateKind) -> CriticVersionRecord | None:
        """The newest applied update of that kind to `critic`: the one results use now."""
        with self._read() as s:
            row = s.scalars(select(CriticVersion).where(
                CriticVersion.critic == critic, CriticVersion.update == update.value,
                CriticVersion.applied.is_(True),
            ).order_by(CriticVersion.id.desc()).limit(1)).first()
            return _version(row) if row is not None else None

    def active_version(self, critic: str) -> CriticVersionRecord | None:
        """The newest applied update of any kind to `critic` (its version names every result
        the critic gives from now on), or None while it has none."""
        with self._read() as s:
            row = s.scalars(select(CriticVersion).where(
                CriticVersion.critic == critic, CriticVersion.applied.is_(True),
            ).order_by(CriticVersion.id.desc()).limit(1)).first()
            return _version(row) if row is not None else None


__all__ = ["CriticVersionRecord", "LabelRecord", "LabelsMixin", "NewLabel"]
