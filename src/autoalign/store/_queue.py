"""The shared work queue: items claimed by one worker at a time under a lease.

A worker claims the oldest ready item of the kinds it runs: `queued`, or `claimed` under a lease
that ran out (its worker died). The claim is one transaction: on PostgreSQL
`SELECT ... FOR UPDATE SKIP LOCKED` picks a row no other claimer holds, so claimers on many
hosts never wait for each other nor take the same item; on SQLite (one machine)
`BEGIN IMMEDIATE` serialises claimers instead. Leases are measured on the database's clock
(PostgreSQL), so hosts whose clocks differ agree on when a lease expired.

Every change of a claimed item names its owner, and is refused (returns False) when the item is
no longer that owner's: a worker whose lease was taken over cannot finish or release the item.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import DataError
from ..vocabulary import RunStatus, WorkKind, WorkState
from ._records import RunRecord
from ._runs import _record as _run_record
from ._runs import db_now, latest_of, new_run
from ._schema import WorkItem
from ._session import StoreBase

MAX_ATTEMPTS = 5
"""An item claimed this many times without finishing (its workers kept dying on it) fails."""

SubmitOutcome = Literal["created", "resumed", "completed"]


@dataclass(frozen=True, kw_only=True)
class WorkItemRecord:
    """One work item, as read."""

    id: int
    kind: WorkKind
    key: str
    """Unique per kind."""
    run_id: int | None
    payload: Any
    """What the handler needs, as JSON."""
    state: WorkState
    owner: str | None
    """The worker holding the lease (`host:pid:start`), while claimed."""
    lease_until: datetime | None
    heartbeat_at: datetime | None
    attempts: int
    """Times the item was claimed (a clean release gives its claim back)."""
    result: Any
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    taken_over_from: str | None = None
    """Set by `claim_work` when the item was taken from a worker whose lease had expired."""


@dataclass(frozen=True, kw_only=True)
class Submission:
    """What `QueueMixin.submit_run` decided."""

    run: RunRecord
    outcome: SubmitOutcome
    """`created`: a new run, queued; `resumed`: the agenda's unfinished run, queued (again);
    `completed`: the agenda's latest run had completed, nothing queued."""
    item: WorkItemRecord | None
    """The project item that runs it (an existing one when the run was already queued)."""


def _item(row: WorkItem, *, taken_over_from: str | None = None) -> WorkItemRecord:
    return WorkItemRecord(
        id=row.id,
        kind=WorkKind(row.kind),
        key=row.key,
        run_id=row.run_id,
        payload=row.payload,
        state=WorkState(row.state),
        owner=row.owner,
        lease_until=row.lease_until,
        heartbeat_at=row.heartbeat_at,
        attempts=row.attempts,
        result=row.result,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        taken_over_from=taken_over_from,
    )


class QueueMixin(StoreBase):
    """Enqueueing, claiming, renewing, finishing and releasing work items."""

    @contextmanager
    def _queue_tx(self) -> Iterator[Session]:
        """A write transaction; on SQLite it takes the file's write lock at BEGIN, so two
        claimers never read the same ready item (PostgreSQL uses row locks instead)."""
        with self._write_lock, self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
                session.flush()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                session.close()

    def enqueue_work(
        self, *, kind: WorkKind, key: str, payload: Any = None, run_id: int | None = None
    ) -> WorkItemRecord:
        """Add an item, or find the one with the same (kind, key): enqueueing is idempotent.

        A `failed` item is revived (queued again, its claims reset); a queued, claimed or done
        one is returned as it is.
        """
        for _ in range(2):  # a concurrent insert of the same key wins once; then it is found
            try:
                with self._queue_tx() as s:
                    return _item(_enqueue(s, kind=kind, key=key, payload=payload, run_id=run_id))
            except IntegrityError:
                continue
        raise DataError(f"could not enqueue {kind} item {key!r}: its key keeps conflicting")

    def claim_work(
        self, *, owner: str, kinds: Sequence[WorkKind], lease_s: float
    ) -> WorkItemRecord | None:
        """Claim the oldest ready item of `kinds` for `owner` for `lease_s` seconds; None when
        none is ready. An expired item claimed `MAX_ATTEMPTS` times already is failed instead."""
        if lease_s <= 0:
            raise ValueError(f"lease_s must be positive, got {lease_s}")
        with self._queue_tx() as s:
            now = db_now(s)
            ready = select(WorkItem).where(
                WorkItem.kind.in_([str(k) for k in kinds]),
                or_(
                    WorkItem.state == WorkState.QUEUED,
                    and_(WorkItem.state == WorkState.CLAIMED, WorkItem.lease_until < now),
                ),
            ).order_by(WorkItem.id).limit(1).with_for_update(skip_locked=True)
            while (row := s.scalars(ready).first()) is not None:
                previous = row.owner if row.state == WorkState.CLAIMED else None
                if row.attempts >= MAX_ATTEMPTS:
                    row.state = WorkState.FAILED
                    row.error = (f"claimed {row.attempts} times without finishing (last owner "
                                 f"{previous}); enqueue it again to retry")
                    row.owner, row.lease_until = None, None
                    row.updated_at = row.finished_at = now
                    s.flush()
                    continue
                row.state = WorkState.CLAIMED
                row.owner = owner
                row.lease_until = now + timedelta(seconds=lease_s)
                row.heartbeat_at = now
                row.attempts += 1
                row.updated_at = now
                s.flush()
                return _item(row, taken_over_from=previous)
            return None

    def renew_work_lease(self, item_id: int, *, owner: str, lease_s: float) -> bool:
        """Heartbeat: extend `owner`'s lease by `lease_s` from now; False if the item is no
        longer claimed by `owner` (another worker took it over after the lease expired)."""
        with self._queue_tx() as s:
            now = db_now(s)
            done = s.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.owner == owner,
                       WorkItem.state == WorkState.CLAIMED)
                .values(lease_until=now + timedelta(seconds=lease_s), heartbeat_at=now)
            )
            return bool(getattr(done, "rowcount", 0))

    def finish_work(
        self, item_id: int, *, owner: str, result: Any = None, error: str | None = None
    ) -> bool:
        """Mark `owner`'s item `done` with `result`, or `failed` with `error`; False (and nothing
        written) if the item is no longer `owner`'s."""
        with self._queue_tx() as s:
            now = db_now(s)
            done = s.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.owner == owner,
                       WorkItem.state == WorkState.CLAIMED)
                .values(
                    state=WorkState.DONE if error is None else WorkState.FAILED,
                    result=result, error=error, owner=None, lease_until=None,
                    updated_at=now, finished_at=now,
                )
            )
            return bool(getattr(done, "rowcount", 0))

    def release_work(self, item_id: int, *, owner: str) -> bool:
        """Give `owner`'s item back to the queue at once (a clean stop): another worker may
        claim it now, and this claim does not count towards `MAX_ATTEMPTS`. False if the item
        is no longer `owner`'s."""
        with self._queue_tx() as s:
            now = db_now(s)
            done = s.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.owner == owner,
                       WorkItem.state == WorkState.CLAIMED)
                .values(state=WorkState.QUEUED, owner=None, lease_until=None,
                        attempts=WorkItem.attempts - 1, updated_at=now)
            )
            return bool(getattr(done, "rowcount", 0))

    def work_item(self, item_id: int) -> WorkItemRecord:
        """One item by id.

        Raises:
            DataError: there is no such item.
        """
        with self._read() as s:
            row = s.get(WorkItem, item_id)
            if row is None:
                raise DataError(f"no work item with id {item_id}")
            return _item(row)

    def work_items(
        self,
        *,
        kind: WorkKind | None = None,
        state: WorkState | None = None,
        run_id: int | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[WorkItemRecord]:
        """Items in id order, filtered by kind, state, run or ids when given."""
        query = select(WorkItem).order_by(WorkItem.id)
        if kind is not None:
            query = query.where(WorkItem.kind == kind)
        if state is not None:
            query = query.where(WorkItem.state == state)
        if run_id is not None:
            query = query.where(WorkItem.run_id == run_id)
        if ids is not None:
            query = query.where(WorkItem.id.in_(list(ids)))
        with self._read() as s:
            return [_item(row) for row in s.scalars(query)]

    def submit_run(
        self,
        *,
        name: str,
        agenda_digest: str,
        config: dict[str, Any],
        seed: int = 0,
        budget_tokens: int | None = None,
        budget_usd: float | None = None,
        new: bool = False,
    ) -> Submission:
        """Queue this agenda's run for a worker: atomically, under `start_run`'s lock.

        Without `new` the agenda's unfinished run is queued (again), or nothing when its latest
        run completed; with `new`, or when there is none, a run is created with status `queued`
        and no owner (seeded as `start_run` seeds it). The project item's key is the run id, so
        submitting one run twice queues it once.
        """
        with self._locked(agenda_digest) as s:
            latest = latest_of(s, agenda_digest)
            if latest is not None and not new:
                if latest.status == RunStatus.COMPLETED:
                    return Submission(run=_run_record(latest), outcome="completed", item=None)
                latest.budget_tokens, latest.budget_usd = budget_tokens, budget_usd
                row = latest
                outcome: SubmitOutcome = "resumed"
            else:
                row = new_run(
                    s, name=name, agenda_digest=agenda_digest, config=config, seed=seed,
                    budget_tokens=budget_tokens, budget_usd=budget_usd, owner=None,
                )
                outcome = "created"
            # A done item of an unfinished run (stopped by its budget, say) is queued again.
            item = _enqueue(s, kind=WorkKind.PROJECT, key=str(row.id), payload={}, run_id=row.id,
                            revive=(WorkState.FAILED, WorkState.DONE))
            return Submission(run=_run_record(row), outcome=outcome, item=_item(item))


def _enqueue(
    s: Session, *, kind: WorkKind, key: str, payload: Any, run_id: int | None,
    revive: tuple[WorkState, ...] = (WorkState.FAILED,),
) -> WorkItem:
    row = s.scalars(
        select(WorkItem).where(WorkItem.kind == kind, WorkItem.key == key)
    ).first()
    now = db_now(s)
    if row is None:
        row = WorkItem(kind=kind, key=key, run_id=run_id, payload=payload,
                       state=WorkState.QUEUED, attempts=0, created_at=now, updated_at=now)
        s.add(row)
    elif row.state in revive:
        row.state, row.attempts, row.error, row.result = WorkState.QUEUED, 0, None, None
        row.finished_at, row.updated_at = None, now
    s.flush()
    return row
