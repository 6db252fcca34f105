"""An artifact's current status: its latest status event's."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ._schema import ArtifactEvent

_CHUNK = 500
"""Ids per query: SQLite bounds the number of parameters of one statement."""


def current_statuses(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The latest event's status of each artifact in `ids` (an id without events is left out)."""
    found: dict[int, str] = {}
    for i in range(0, len(ids), _CHUNK):
        latest = (
            select(ArtifactEvent.artifact_id, func.max(ArtifactEvent.id).label("eid"))
            .where(ArtifactEvent.artifact_id.in_(list(ids[i : i + _CHUNK])))
            .group_by(ArtifactEvent.artifact_id)
            .subquery()
        )
        rows = session.execute(
            select(ArtifactEvent.artifact_id, ArtifactEvent.status).join(
                latest, ArtifactEvent.id == latest.c.eid
            )
        )
        found.update({aid: status for aid, status in rows})
    return found
