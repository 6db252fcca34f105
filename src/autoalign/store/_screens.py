"""Information screens between projects, the reads they refused, and the walks that decide
whether an artifact lies behind a screen.

A project is named by its selected proposal. An artifact belongs to a project when it was made
from that proposal (a `derived_from` walk up reaches it: scoping, tasks, sandbox runs, logs,
reports, claims, the research log, a spin-off) or is one of the proposal's own drafts and
critiques. `context` edges are not followed: being shown the selection that lists both projects
does not make one project's artifact the other's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..errors import DataError
from ..vocabulary import Kind, Relation, Status
from ._provenance import walk_query
from ._records import ScreenRecord, ScreenRefusalRecord
from ._schema import Artifact, ArtifactEvent, InformationScreen, ScreenRefusal
from ._session import StoreBase
from ._status import current_statuses

_LINEAGE_KINDS = (Kind.PROPOSAL, Kind.PROPOSAL_CRITIQUE)
"""Kinds that, made on the way to a project's proposal, belong to the project (its drafts and
their critiques)."""


def _refusal(row: ScreenRefusal) -> ScreenRefusalRecord:
    return ScreenRefusalRecord(
        id=row.id, screen_id=row.screen_id, run_id=row.run_id, reader_id=row.reader_id,
        artifact_id=row.artifact_id, via=row.via, step_key=row.step_key,
        created_at=row.created_at,
    )


class ScreensMixin(StoreBase):
    """Information screens: store, query, enforce (by the callers that read), lift."""

    def _screens(self, rows: Sequence[InformationScreen]) -> list[ScreenRecord]:
        with self._read() as s:
            status = current_statuses(s, [r.artifact_id for r in rows])
        return [
            ScreenRecord(
                id=r.id, run_id=r.run_id, artifact_id=r.artifact_id, project_a=r.project_a,
                project_b=r.project_b, question=r.question, reason=r.reason,
                active=status.get(r.artifact_id) != Status.LIFTED, created_at=r.created_at,
            )
            for r in rows
        ]

    def add_screen(
        self, *, run_id: int, artifact_id: int, project_a: int, project_b: int, question: str,
        reason: str,
    ) -> ScreenRecord:
        """Store the screen that artifact `artifact_id` records (once: a second call returns
        the first row).

        Raises:
            DataError: both sides are the same project.
        """
        if project_a == project_b:
            raise DataError(
                f"screen {artifact_id} names project {project_a} on both sides; a screen keeps "
                "two different projects apart"
            )
        existing = self._screen_by_artifact(artifact_id)
        if existing is not None:
            return existing
        try:
            with self._write() as s:
                s.add(InformationScreen(
                    run_id=run_id, artifact_id=artifact_id, project_a=project_a,
                    project_b=project_b, question=question, reason=reason,
                ))
        except IntegrityError:  # another writer stored it first
            pass
        found = self._screen_by_artifact(artifact_id)
        assert found is not None
        return found

    def _screen_by_artifact(self, artifact_id: int) -> ScreenRecord | None:
        with self._read() as s:
            rows = list(s.scalars(
                select(InformationScreen).where(InformationScreen.artifact_id == artifact_id)
            ))
        return self._screens(rows)[0] if rows else None

    def screen(self, screen_id: int) -> ScreenRecord:
        """One screen by id.

        Raises:
            DataError: there is no such screen.
        """
        with self._read() as s:
            row = s.get(InformationScreen, screen_id)
        if row is None:
            raise DataError(f"no information screen with id {screen_id}; see `autoalign screens "
                            "list`")
        return self._screens([row])[0]

    def screens(
        self, *, run_id: int | None = None, projects: Sequence[int] | None = None,
        active: bool | None = None,
    ) -> list[ScreenRecord]:
        """Screens in creation order: of a run, touching any of `projects`, and active (or
        lifted) only when `active` is given."""
        query = select(InformationScreen).order_by(InformationScreen.id)
        if run_id is not None:
            query = query.where(InformationScreen.run_id == run_id)
        if projects is not None:
            ids = list(projects)
            query = query.where(or_(
                InformationScreen.project_a.in_(ids), InformationScreen.project_b.in_(ids)
            ))
        with self._read() as s:
            rows = list(s.scalars(query))
        found = self._screens(rows)
        return found if active is None else [r for r in found if r.active == active]

    def screen_between(self, a: int, b: int) -> ScreenRecord | None:
        """The screen (active or lifted) that kept projects `a` and `b` apart, if one did: what a
        cross-paper critic asks before it counts their agreement as independent evidence. Each
        side may be the project's selected proposal or any proposal of its lineage (a draft, a
        spin-off)."""
        side_a, side_b = self.project_lineage(a), self.project_lineage(b)
        for screen in self.screens(projects=sorted(side_a | side_b)):
            pair = {screen.project_a, screen.project_b}
            if pair & side_a and pair & side_b and not (pair <= side_a or pair <= side_b):
                return screen
        return None

    def _derived_up(self, artifact_id: int) -> set[int]:
        """What `artifact_id` was made from (`derived_from` edges only), transitively."""
        query = walk_query(artifact_id, "up", ordered=False, relation=Relation.DERIVED_FROM)
        with self._read() as s:
            return set(s.connection().execute(query).scalars())

    def project_lineage(self, proposal: int) -> set[int]:
        """A project's proposal, its drafts and critiques before it and its spin-offs after
        (`derived_from` edges only: a project shown another's selection does not inherit it)."""
        up = self._derived_up(proposal)
        down_query = walk_query(proposal, "down", ordered=False, relation=Relation.DERIVED_FROM)
        with self._read() as s:
            down = set(s.connection().execute(down_query).scalars())
            kinds = {
                a: k for a, k in s.execute(
                    select(Artifact.id, Artifact.kind).where(Artifact.id.in_(list(up | down)))
                )
            } if up or down else {}
        lineage = {a for a in up if kinds.get(a) in _LINEAGE_KINDS}
        spun = {a for a in down if kinds.get(a) == Kind.PROPOSAL}
        return {proposal} | lineage | spun

    def project_screens(self, proposal: int, *, active: bool | None = True) -> list[ScreenRecord]:
        """The screens on project `proposal` (or on any proposal of its lineage)."""
        return self.screens(projects=sorted(self.project_lineage(proposal)), active=active)

    def blocking_screen(self, *, reader: int, target: int) -> ScreenRecord | None:
        """The active screen that keeps project `reader` (a proposal) from reading artifact
        `target`, if one does: `target` belongs to the project on the screen's other side (and
        not to `reader` too, as a selection made from both does)."""
        with self._read() as s:  # most databases have no screen: then no lineage walk either
            if s.execute(select(InformationScreen.id).limit(1)).first() is None:
                return None
        own = self.project_lineage(reader)
        screens = self.screens(projects=sorted(own), active=True)
        if not screens:
            return None
        made_from = self._derived_up(target) | {target}
        if made_from & own:
            return None  # its own, or made from both projects (the selection): not the other's
        for screen in screens:
            other = screen.project_b if screen.project_a in own else screen.project_a
            if other in own:
                continue
            if made_from & self.project_lineage(other):
                return screen
        return None

    def add_screen_refusal(
        self, *, screen_id: int, reader_id: int, artifact_id: int, via: str, step_key: str = ""
    ) -> ScreenRefusalRecord:
        """Record a refused read (once per screen, artifact, place and step)."""
        screen = self.screen(screen_id)

        def find() -> ScreenRefusalRecord | None:
            with self._read() as s:
                row = s.scalars(select(ScreenRefusal).where(
                    ScreenRefusal.screen_id == screen_id, ScreenRefusal.artifact_id == artifact_id,
                    ScreenRefusal.via == via, ScreenRefusal.step_key == step_key,
                )).first()
                return _refusal(row) if row is not None else None

        found = find()
        if found is not None:
            return found
        try:
            with self._write() as s:
                row = ScreenRefusal(
                    screen_id=screen_id, run_id=screen.run_id, reader_id=reader_id,
                    artifact_id=artifact_id, via=via, step_key=step_key,
                )
                s.add(row)
                s.flush()
                return _refusal(row)
        except IntegrityError:
            again = find()
            if again is None:
                raise
            return again

    def screen_refusals(
        self, *, run_id: int | None = None, screen_id: int | None = None
    ) -> list[ScreenRefusalRecord]:
        """Refused reads in the order they happened, of a run or of one screen."""
        query = select(ScreenRefusal).order_by(ScreenRefusal.id)
        if run_id is not None:
            query = query.where(ScreenRefusal.run_id == run_id)
        if screen_id is not None:
            query = query.where(ScreenRefusal.screen_id == screen_id)
        with self._read() as s:
            return [_refusal(r) for r in s.scalars(query)]

    def lift_screen(self, screen_id: int, *, reason: str) -> ScreenRecord:
        """Lift a screen (after a human reviewed an appeal): a `lifted` status event on its
        artifact, with `reason`. Lifting a lifted screen changes nothing.

        Raises:
            DataError: there is no such screen, or no reason was given.
        """
        if not reason.strip():
            raise DataError(f"lifting screen {screen_id} needs a reason (e.g. the review id)")
        screen = self.screen(screen_id)
        if screen.active:
            with self._write() as s:
                s.add(ArtifactEvent(
                    artifact_id=screen.artifact_id, status=Status.LIFTED, reason=reason
                ))
        return self.screen(screen_id)

    def existing_artifacts(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` name stored artifacts: the shallow check that cited ids exist."""
        wanted = sorted({i for i in ids if isinstance(i, int)})
        if not wanted:
            return set()
        with self._read() as s:
            return set(s.scalars(select(Artifact.id).where(Artifact.id.in_(wanted))))
