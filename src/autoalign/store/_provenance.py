"""Provenance walks over the artifact DAG, as one recursive query each.

The walks use `UNION` rather than `UNION ALL`: the database then drops an id it has already
reached, so a DAG full of diamonds is walked once per node instead of once per path (which grows
exponentially), and a cycle, should bad data ever make one, ends the walk instead of looping.

A walk is returned as a list, streamed in batches (`iter_*`: a server-side cursor on
PostgreSQL, rows fetched as they are consumed on SQLite, so a walk over the whole graph never
holds every id in Python), or counted in the database (`count_*`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from sqlalchemy import CTE, Select, bindparam, func, select
from sqlalchemy.orm import Session

from ._records import EdgeRecord
from ._schema import Flaw, ProvenanceEdge
from ._session import StoreBase

Direction = Literal["up", "down"]
"""`up` to parents (ancestors), `down` to children (descendants)."""

_edges = ProvenanceEdge.__table__.c

_PARENTS = (
    select(_edges.child_id, _edges.parent_id, _edges.relation)
    .where(_edges.child_id == bindparam("id"))
    .order_by(_edges.parent_id)
)

_CHUNK = 500
"""Roots per query: SQLite bounds the number of parameters of one statement."""

WALK_BATCH = 1000
"""Ids fetched per round trip by a streaming walk."""


def walk_query(
    artifact_id: int, direction: Direction, *, ordered: bool = True, relation: str | None = None
) -> Select[int]:
    """The ids reached from `artifact_id` going up (to parents) or down (to children), not
    `artifact_id` itself; ascending when `ordered` (a count needs no order). With `relation`,
    only edges of that relation are followed (e.g. `derived_from`: what a project's artifacts
    were made from, without what was only shown to them)."""
    # "up" follows child -> parent (served by the primary key, which starts with child_id);
    # "down" follows parent -> child (served by ix_provenance_edges_parent).
    start, step = (
        (_edges.child_id, _edges.parent_id)
        if direction == "up"
        else (_edges.parent_id, _edges.child_id)
    )
    first = select(step.label("id")).where(start == artifact_id)
    if relation is not None:
        first = first.where(_edges.relation == relation)
    reached = first.cte("reached", recursive=True)
    more = select(step).join(reached, start == reached.c.id)
    if relation is not None:
        more = more.where(_edges.relation == relation)
    reached = reached.union(more)
    query = select(reached.c.id).where(reached.c.id != artifact_id)
    return query.order_by(reached.c.id) if ordered else query


def walk_many_query(roots: Sequence[int], direction: Direction) -> CTE:
    """The walks from every id of `roots` at once: rows (root, id) of each id reached from
    its root (the root itself only through a cycle); one recursive query for many walks."""
    start, step = (
        (_edges.child_id, _edges.parent_id)
        if direction == "up"
        else (_edges.parent_id, _edges.child_id)
    )
    reached = select(start.label("root"), step.label("id")).where(
        start.in_(list(roots))
    ).cte("reached_many", recursive=True)
    return reached.union(select(reached.c.root, step).join(reached, start == reached.c.id))


def _walk(session: Session, artifact_id: int, direction: Direction) -> list[int]:
    # Core, not the ORM (plain ids need no ORM row processing), and sorted here: sorting the ids
    # in Python is cheaper than a sort step on top of the recursive query (PostgreSQL).
    return sorted(session.connection().execute(
        walk_query(artifact_id, direction, ordered=False)
    ).scalars())


def ancestors(session: Session, artifact_id: int) -> list[int]:
    """Every artifact `artifact_id` was built from, transitively, not itself; ids ascending."""
    return _walk(session, artifact_id, "up")


def descendants(session: Session, artifact_id: int) -> list[int]:
    """Every artifact built from `artifact_id`, transitively, excluding itself; ids ascending."""
    return _walk(session, artifact_id, "down")


def iter_walk(
    session: Session, artifact_id: int, direction: Direction, *, batch_size: int = WALK_BATCH
) -> Iterator[int]:
    """The ids of a walk, ascending, fetched `batch_size` at a time while they are consumed."""
    result = session.connection().execute(
        walk_query(artifact_id, direction), execution_options={"yield_per": batch_size}
    )
    try:
        for partition in result.scalars().partitions():
            yield from partition
    finally:
        result.close()


def reaches(session: Session, artifact_id: int, target: int, direction: Direction) -> bool:
    """Whether a walk from `artifact_id` reaches `target`; nothing is returned to Python but
    the answer."""
    reached = walk_query(artifact_id, direction, ordered=False).subquery()
    found = select(reached.c.id).where(reached.c.id == target).exists()
    return bool(session.connection().scalar(select(found)))


def count_walk(session: Session, artifact_id: int, direction: Direction) -> int:
    """How many artifacts a walk reaches, counted in the database."""
    reached = walk_query(artifact_id, direction, ordered=False).subquery()
    return int(session.connection().scalar(select(func.count()).select_from(reached)) or 0)


class ProvenanceMixin(StoreBase):
    """Provenance edges and walks over them."""

    def parents(self, artifact_id: int) -> list[EdgeRecord]:
        """Direct provenance edges out of `artifact_id`, i.e. what it was made from."""
        with self._read_conn() as conn:  # read on the hot path of a stage: a Core statement
            return [
                EdgeRecord(child_id=r.child_id, parent_id=r.parent_id, relation=r.relation)
                for r in conn.execute(_PARENTS, {"id": artifact_id})
            ]

    def edges_touching(self, ids: Sequence[int], *, direction: Direction) -> list[EdgeRecord]:
        """Direct edges one step from `ids`: `up`, the edges to their parents; `down`, the
        edges from their children. One query per 1,000 ids (a provenance graph drawn a layer at
        a time)."""
        found: list[EdgeRecord] = []
        column = _edges.child_id if direction == "up" else _edges.parent_id
        unique = sorted(set(ids))
        with self._read() as s:  # a statement per batch: SQLAlchemy, not the driver path
            conn = s.connection()
            for start in range(0, len(unique), WALK_BATCH):
                chunk = unique[start : start + WALK_BATCH]
                query = (
                    select(_edges.child_id, _edges.parent_id, _edges.relation)
                    .where(column.in_(chunk))
                    .order_by(_edges.child_id, _edges.parent_id)
                )
                found += [
                    EdgeRecord(child_id=r.child_id, parent_id=r.parent_id, relation=r.relation)
                    for r in conn.execute(query)
                ]
        return found

    def ancestors(self, artifact_id: int) -> list[int]:
        """Every artifact `artifact_id` was built from, transitively (ids, ascending)."""
        with self._read() as s:
            return ancestors(s, artifact_id)

    def descendants(self, artifact_id: int) -> list[int]:
        """Every artifact built (transitively) from `artifact_id` (ids, ascending)."""
        with self._read() as s:
            return descendants(s, artifact_id)

    def iter_ancestors(self, artifact_id: int, *, batch_size: int = WALK_BATCH) -> Iterator[int]:
        """`ancestors`, streamed: ids ascending, `batch_size` fetched at a time, so a walk over
        a large graph holds one batch in memory. The read stays open until the iterator is
        exhausted or closed."""
        with self._read() as s:
            yield from iter_walk(s, artifact_id, "up", batch_size=batch_size)

    def iter_descendants(
        self, artifact_id: int, *, batch_size: int = WALK_BATCH
    ) -> Iterator[int]:
        """`descendants`, streamed: ids ascending, `batch_size` fetched at a time (see
        `iter_ancestors`)."""
        with self._read() as s:
            yield from iter_walk(s, artifact_id, "down", batch_size=batch_size)

    def count_ancestors(self, artifact_id: int) -> int:
        """How many artifacts `artifact_id` was built from, transitively; counted in the
        database, no id is returned."""
        with self._read() as s:
            return count_walk(s, artifact_id, "up")

    def count_descendants_of(self, roots: Sequence[int]) -> dict[int, int]:
        """`count_descendants` of each id in `roots`, in one query per 500 roots (an id with
        no descendant maps to 0)."""
        counts = dict.fromkeys(roots, 0)
        with self._read() as s:
            for i in range(0, len(roots), _CHUNK):
                reached = walk_many_query(roots[i:i + _CHUNK], "down")
                counts.update(s.connection().execute(
                    select(reached.c.root, func.count())
                    .where(reached.c.id != reached.c.root)
                    .group_by(reached.c.root)
                ).all())
        return counts

    def context_severities(self, roots: Sequence[int]) -> dict[int, list[str]]:
        """For each id in `roots`, the severity of every flaw on it and on every artifact
        upstream of it (its ancestors), in one query per 500 roots."""
        found: dict[int, list[str]] = {r: [] for r in roots}
        with self._read() as s:
            conn = s.connection()
            for i in range(0, len(roots), _CHUNK):
                chunk = list(roots[i:i + _CHUNK])
                reached = walk_many_query(chunk, "up")
                rows = conn.execute(
                    select(reached.c.root, Flaw.severity)
                    .join(Flaw, Flaw.artifact_id == reached.c.id)
                    .where(reached.c.id != reached.c.root)
                    .union_all(select(Flaw.artifact_id, Flaw.severity)
                               .where(Flaw.artifact_id.in_(chunk)))
                )
                for root, severity in rows:
                    found[root].append(severity)
        return found

    def count_descendants(self, artifact_id: int) -> int:
        """How many artifacts were built (transitively) from `artifact_id`; counted in the
        database, no id is returned."""
        with self._read() as s:
            return count_walk(s, artifact_id, "down")
