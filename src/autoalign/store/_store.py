"""The `Store`: every read and write of the research database goes through it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Row, bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..errors import DataError, StoreError
from ..vocabulary import Kind, Role, Stage, Status
from . import _deps, _migrate
from ._ab import AbMixin
from ._budget import BudgetMixin
from ._cases import CasesMixin
from ._checks import ChecksMixin  # issue 14, part CK
from ._deps import CallWait, CriticalPath, WorkNode
from ._engine import NO_DATABASE_HINT, make_engine, resolve_url, safe_url, shown
from ._erasures import ErasuresMixin  # log erasure (issue 14, part ER)
from ._findings import FindingsMixin
from ._labels import LabelsMixin
from ._ledger import LedgerMixin
from ._listings import ListingsMixin
from ._organisms import OrganismsMixin
from ._provenance import ProvenanceMixin
from ._queue import QueueMixin
from ._records import (
    ArtifactRecord,
    EventRecord,
)
from ._redteam import RedteamMixin
from ._retrievals import RetrievalsMixin  # the flaw library (issue 14, part LB)
from ._reviews import ReviewsMixin
from ._runs import RunsMixin
from ._schema import (
    PREVIEW_CHARS,
    Artifact,
    ArtifactEvent,
    ProvenanceEdge,
    StepCall,
    utcnow,
)
from ._screens import ScreensMixin
from ._status import current_statuses

Parent = int | tuple[int, str]
"""A provenance parent: an artifact id, or (id, relation)."""

# Every step stores its output and looks its key up first: these run on the hot path, as
# prebuilt Core statements on a plain connection (an ORM session costs several times more),
# on a SQLite file the held one of the driver path (`_driver.py`).
_ARTIFACT_COLUMNS = (
    Artifact.id, Artifact.run_id, Artifact.kind, Artifact.stage, Artifact.role, Artifact.model,
    Artifact.prompt_digest, Artifact.step_key, Artifact.title, Artifact.content_text,
    Artifact.content_json, Artifact.created_at,
)
_BY_STEP = select(*_ARTIFACT_COLUMNS).where(
    Artifact.run_id == bindparam("run_id"), Artifact.step_key == bindparam("step_key")
)
_BY_ID = select(*_ARTIFACT_COLUMNS).where(Artifact.id == bindparam("id"))
_EXISTS = select(Artifact.id).where(Artifact.id == bindparam("id"))
_LATEST_STATUS = (
    select(ArtifactEvent.status)
    .where(ArtifactEvent.artifact_id == bindparam("id"))
    .order_by(ArtifactEvent.id.desc())
    .limit(1)
)
_INSERT_ARTIFACT = insert(Artifact).returning(Artifact.id)
_INSERT_EVENT = insert(ArtifactEvent)
_INSERT_EDGE = insert(ProvenanceEdge)
_INSERT_STEP_CALL = insert(StepCall)


def _artifact(row: Artifact | Row[Any], status: str) -> ArtifactRecord:
    return ArtifactRecord(
        id=row.id,
        run_id=row.run_id,
        kind=row.kind,
        stage=row.stage,
        role=row.role,
        model=row.model,
        prompt_digest=row.prompt_digest,
        step_key=row.step_key,
        title=row.title,
        content_text=row.content_text,
        content_json=row.content_json,
        status=status,
        created_at=row.created_at,
    )


def _check_writable(engine: Engine) -> None:
    """Write a row back unchanged and roll back, so a read-only database (file, folder, user or
    server) fails when it is opened, not in the middle of a run."""
    with engine.connect() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
        connection.rollback()


_REASONS = (
    ("file is not a database", "the file is not a SQLite database; pass the path of an "
     "autoalign database, or move the file away"),
    ("malformed", "the file is damaged (truncated?); restore it from a backup or move it away"),
    ("readonly", "the database is read-only; make the file and its folder writable, or pass "
     "another --db path"),
    ("read-only transaction", "the server holds the database read-only; connect as a user "
     "that may write, or pass another --db URL"),
    ("permission denied", "the database user may not write; grant it write access, or pass "
     "another --db URL"),
    ("unable to open database file", "the file cannot be opened; check that it and its folder "
     "exist and are readable and writable"),
)


def _why(exc: DBAPIError) -> str:
    """One line saying why the database could not be used, and what to do."""
    message = " ".join(str(exc.orig).split())
    for needle, reason in _REASONS:
        if needle in message.lower():
            return reason
    return f"{shown(message, limit=300)}; check the URL, and that the server runs and accepts you"


class Store(
    RunsMixin, LedgerMixin, BudgetMixin, FindingsMixin, ReviewsMixin, ListingsMixin,
    ProvenanceMixin, QueueMixin, ScreensMixin, OrganismsMixin, RedteamMixin, CasesMixin,
    LabelsMixin,
    RetrievalsMixin,  # the flaw library (issue 14, part LB)
    AbMixin,
    ChecksMixin,  # issue 14, part CK
    ErasuresMixin,
):
    """The research database.

    Writes are serialised through one lock (SQLite allows one writer; the lock keeps async
    fan-out from fighting over it). Records returned are frozen copies, safe to keep.
    """

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        migrate: bool = True,
        create: bool = True,
        writable: bool | None = None,
    ) -> Store:
        """Open (and by default migrate to the latest schema) the database at `url`.

        Args:
            url: SQLAlchemy URL; default `$AUTOALIGN_DB`, else `.autoalign/research.db`.
            migrate: bring an older schema to head (else only refuse a newer one).
            create: open for writing: create a missing SQLite file and its folders, migrate an
                empty database, and check that the database can be written. When False (for
                commands that only read), a missing or empty database is an error and nothing
                is created.
            writable: check that the database can be written (default: as `create`); a
                command that writes into an existing database only passes `create=False,
                writable=True`.

        Raises:
            SchemaVersionError: the database was written by a newer autoalign.
            StoreError: the URL is malformed, or the database is missing (with `create` off),
                cannot be reached, is not a database, is damaged, or (with `writable`)
                read-only.
        """
        resolved = resolve_url(url)
        engine = make_engine(resolved, create=create)
        try:
            if not create and _migrate.current_revision(engine) is None:
                raise StoreError(
                    f"no research database at {safe_url(resolved)}; {NO_DATABASE_HINT}"
                )
            if migrate:
                _migrate.upgrade_to_head(engine)
            else:
                _migrate.check_not_newer(engine)
            if create if writable is None else writable:
                _check_writable(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot open the database {safe_url(resolved)}: {_why(exc)}"
            ) from exc
        except Exception:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self._release_driver()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- artifacts ---------------------------------------------------------------------------

    def add_artifact(
        self,
        *,
        run_id: int | None,
        kind: Kind,
        stage: Stage,
        content_text: str = "",
        content_json: Any = None,
        role: Role | None = None,
        model: str | None = None,
        prompt_digest: str | None = None,
        step_key: str | None = None,
        title: str | None = None,
        status: Status = Status.OK,
        parents: Sequence[Parent] = (),
        calls: Sequence[CallWait] = (),
    ) -> ArtifactRecord:
        """Insert an artifact, its creation event and its provenance edges in one transaction.

        `calls` are the model calls the step awaited to make it, with what each waited on
        within the step (rows of `step_calls`; see `critical_path`).

        If `step_key` is given and the run already has an artifact for that step, that artifact
        is returned and nothing is written: a resumed step never duplicates its output.
        """
        if step_key is not None and run_id is not None:
            # Read before inserting, rather than let the unique (run, step key) constraint
            # refuse: on PostgreSQL a refused insert still takes an id from the sequence, and
            # prompts cite artifacts by id, so every later prompt of a resumed run would change.
            existing = self.artifact_by_step(run_id, step_key)
            if existing is not None:
                return existing
        edges: dict[int, str] = {}
        for parent in parents:
            pid, relation = (parent, "derived_from") if isinstance(parent, int) else parent
            edges.setdefault(pid, relation)
        created_at = utcnow()
        try:
            with self._write_conn() as conn:
                artifact_id = conn.execute(_INSERT_ARTIFACT, {
                    "run_id": run_id, "kind": kind, "stage": stage, "role": role,
                    "model": model, "prompt_digest": prompt_digest, "step_key": step_key,
                    "title": title, "content_text": content_text, "content_json": content_json,
                    "preview": content_text[:PREVIEW_CHARS], "initial_status": status,
                    "created_at": created_at,
                }).scalar_one()
                conn.execute(_INSERT_EVENT, {
                    "artifact_id": artifact_id, "status": status, "reason": "created",
                    "created_at": created_at,
                })
                if edges:
                    conn.execute(_INSERT_EDGE, [
                        {"child_id": artifact_id, "parent_id": pid, "relation": relation}
                        for pid, relation in edges.items()
                    ])
                waits = [
                    {"artifact_id": artifact_id, "call_key": call.call_key, "after_key": after}
                    for call in calls for after in call.after or (None,)
                ]
                if waits:
                    conn.execute(_INSERT_STEP_CALL, waits)
            return ArtifactRecord(
                id=artifact_id, run_id=run_id, kind=kind, stage=stage, role=role, model=model,
                prompt_digest=prompt_digest, step_key=step_key, title=title,
                content_text=content_text, content_json=content_json, status=status,
                created_at=created_at,
            )
        except IntegrityError as exc:
            if step_key is not None and run_id is not None:
                # Another writer stored this step between our check and our insert.
                raced = self.artifact_by_step(run_id, step_key)
                if raced is not None:
                    return raced
            raise DataError(
                f"cannot store {kind} artifact (step {step_key!r}): {exc.orig}; "
                f"check that parents {sorted(edges)} exist"
            ) from exc

    def _status_of(self, s: Session, ids: Sequence[int]) -> dict[int, str]:
        return current_statuses(s, ids)

    def artifact(self, artifact_id: int) -> ArtifactRecord:
        """The artifact `artifact_id` with its current status.

        Raises:
            DataError: there is no artifact with that id.
        """
        with self._read_conn() as conn:
            row = conn.execute(_BY_ID, {"id": artifact_id}).first()
            if row is None:
                raise DataError(f"no artifact with id {artifact_id}")
            status = conn.execute(_LATEST_STATUS, {"id": artifact_id}).scalar_one()
        return _artifact(row, status)

    def status(self, artifact_id: int) -> str:
        """The artifact's current status (its latest event), without reading its content.

        Raises:
            DataError: there is no artifact with that id.
        """
        with self._read_conn() as conn:
            status = conn.execute(_LATEST_STATUS, {"id": artifact_id}).scalar_one_or_none()
        if status is None:
            raise DataError(f"no artifact with id {artifact_id}")
        return str(status)

    def artifact_by_step(self, run_id: int, step_key: str) -> ArtifactRecord | None:
        with self._read_conn() as conn:
            row = conn.execute(_BY_STEP, {"run_id": run_id, "step_key": step_key}).first()
            if row is None:
                return None
            status = conn.execute(_LATEST_STATUS, {"id": row.id}).scalar_one()
        return _artifact(row, status)

    def artifacts(
        self,
        *,
        run_id: int | None = None,
        kind: str | None = None,
        stage: str | None = None,
        ids: Sequence[int] | None = None,
        step_key_prefix: str | None = None,
    ) -> list[ArtifactRecord]:
        """Artifacts matching every filter given, in creation order (`step_key_prefix` matches
        keys that start with it, literally)."""
        query = select(Artifact).order_by(Artifact.id)
        if step_key_prefix is not None:
            query = query.where(Artifact.step_key.startswith(step_key_prefix, autoescape=True))
        if run_id is not None:
            query = query.where(Artifact.run_id == run_id)
        if kind is not None:
            query = query.where(Artifact.kind == kind)
        if stage is not None:
            query = query.where(Artifact.stage == stage)
        if ids is not None:
            query = query.where(Artifact.id.in_(list(ids)))
        with self._read() as s:
            rows = list(s.scalars(query))
            statuses = self._status_of(s, [r.id for r in rows])
            return [_artifact(r, statuses[r.id]) for r in rows]

    def artifact_counts(self) -> dict[int, int]:
        """Artifacts per run, counted in the database (no content is read); runs without
        artifacts are absent."""
        query = (
            select(Artifact.run_id, func.count(Artifact.id))
            .where(Artifact.run_id.is_not(None))
            .group_by(Artifact.run_id)
        )
        with self._read() as s:
            return {int(run_id): int(n) for run_id, n in s.execute(query) if run_id is not None}

    def set_status(self, artifact_id: int, status: Status, *, reason: str | None = None) -> None:
        """Record a status change as a new event; the artifact row itself never changes.

        Raises:
            DataError: there is no artifact with that id.
        """
        with self._write_conn() as conn:
            if conn.execute(_EXISTS, {"id": artifact_id}).first() is None:
                raise DataError(f"no artifact with id {artifact_id}")
            conn.execute(_INSERT_EVENT, {"artifact_id": artifact_id, "status": status,
                                         "reason": reason, "created_at": utcnow()})

    def status_history(self, artifact_id: int) -> list[EventRecord]:
        with self._read() as s:
            rows = s.scalars(
                select(ArtifactEvent)
                .where(ArtifactEvent.artifact_id == artifact_id)
                .order_by(ArtifactEvent.id)
            )
            return [
                EventRecord(
                    artifact_id=r.artifact_id, status=r.status, reason=r.reason,
                    created_at=r.created_at,
                )
                for r in rows
            ]

    def critical_path(self, run_id: int) -> CriticalPath:
        """The longest chain of dependent model calls and sandbox runs of a run, by their
        recorded durations: a lower bound on the run's wall time (see `_deps`)."""
        with self._read() as s:
            return _deps.critical_path(s, run_id)

    def dependency_graph(self, run_id: int) -> list[WorkNode]:
        """A run's dependency graph: its calls, sandbox runs and artifacts, each with what it
        waited on, in a topological order (see `_deps`)."""
        with self._read() as s:
            return list(_deps.dependency_graph(s, run_id))
