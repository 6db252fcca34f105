"""Provenance walks over the artifact DAG, as one recursive query each.

The walks use `UNION` rather than `UNION ALL`: the database then drops an id it has already
reached, so a DAG full of diamonds is walked once per node instead of once per path (which grows
exponentially), and a cycle, should bad data ever make one, ends the walk instead of looping.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ._schema import ProvenanceEdge

_edges = ProvenanceEdge.__table__.c


def walk_query(artifact_id: int, direction: Literal["up", "down"]) -> Select[tuple[int]]:
    """The ids reached from `artifact_id` going up (to parents) or down (to children)."""
    # "up" follows child -> parent (served by the primary key, which starts with child_id);
    # "down" follows parent -> child (served by ix_provenance_edges_parent).
    start, step = (
        (_edges.child_id, _edges.parent_id)
        if direction == "up"
        else (_edges.parent_id, _edges.child_id)
    )
    reached = select(step.label("id")).where(start == artifact_id).cte("reached", recursive=True)
    reached = reached.union(select(step).join(reached, start == reached.c.id))
    return select(reached.c.id).where(reached.c.id != artifact_id).order_by(reached.c.id)


def ancestors(session: Session, artifact_id: int) -> list[int]:
    """Every artifact `artifact_id` was built from, transitively, not itself; ids ascending."""
    return list(session.scalars(walk_query(artifact_id, "up")))


def descendants(session: Session, artifact_id: int) -> list[int]:
    """Every artifact built from `artifact_id`, transitively, excluding itself; ids ascending."""
    return list(session.scalars(walk_query(artifact_id, "down")))
