"""Runs and their lifecycle: starting or resuming a run is one atomic operation.

Several processes may share one research database. Two `autoalign run` of the same agenda started
at the same moment must not both execute it, so finding the agenda's latest run, deciding what to
do with it, and creating or claiming it happen in one transaction under a lock: SQLite's
`BEGIN IMMEDIATE` (one writer for the whole file) or a PostgreSQL transaction-scoped advisory lock
keyed by the agenda digest. Whoever gets the lock second sees the first one's run, owned by a live
process, and is refused.

A run's owner is recorded as `host:pid:start`, where `start` is the process's start time in clock
ticks since boot (Linux `/proc/PID/stat`), so that a pid reused by an unrelated process after a
crash does not look like the owner still running.

A run executed by an `autoalign worker` is owned through its work item's lease:
`lease:ITEM:host:pid:start`. Such an owner is alive exactly while it holds that item's lease
(renewed by its heartbeat), on any host, so a worker that takes over an expired lease may own the
run, and nobody (worker or `autoalign run`) overrides a worker whose lease is live.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..errors import DataError, RunBusyError
from ..vocabulary import RunStatus, WorkState
from ._budget import reconcile_in
from ._records import RunRecord
from ._schema import Run, RunBudget, WorkItem, utcnow
from ._session import StoreBase

RunStartOutcome = Literal["created", "resumed", "completed"]

LEASE_OWNER_PREFIX = "lease:"
"""A run owned through a work item's lease is owned by `lease:ITEM:host:pid:start`."""


@dataclass(frozen=True, kw_only=True)
class RunStart:
    """What `RunsMixin.start_run` decided."""

    run: RunRecord
    outcome: RunStartOutcome
    """`created`: a new run, owned by this process; `resumed`: the agenda's unfinished run, now
    owned by this process; `completed`: the agenda's latest run had completed, nothing claimed."""


@dataclass(frozen=True)
class Owner:
    """The process executing a run."""

    host: str
    pid: int
    start: int | None
    """Start time in clock ticks since boot; None where it cannot be read (not Linux)."""

    def __str__(self) -> str:
        tail = f":{self.start}" if self.start is not None else ""
        return f"{self.host}:{self.pid}{tail}"

    @classmethod
    def parse(cls, value: str) -> Owner:
        """Read `host:pid[:start]`; the host may itself contain colons (IPv6-like names)."""
        head, _, last = value.rpartition(":")
        if ":" in head and head.rpartition(":")[2].isdigit():
            host, _, pid = head.rpartition(":")
            return cls(host, int(pid), int(last))
        return cls(head, int(last), None)

    @classmethod
    def me(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_ticks(pid))

    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def alive(self) -> bool:
        """Whether this process still runs (only meaningful on this host)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, but belongs to another user
            pass
        if self.start is None:
            return True
        # The pid exists; it is the owner only if it started when the owner did.
        return _start_ticks(self.pid) == self.start


def _start_ticks(pid: int) -> int | None:
    """A process's start time (field 22 of /proc/PID/stat), None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; fields follow the last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _record(row: Run) -> RunRecord:
    return RunRecord(
        id=row.id,
        name=row.name,
        agenda_digest=row.agenda_digest,
        config=row.config,
        seed=row.seed,
        status=row.status,
        stop_reason=row.stop_reason,
        owner=row.owner,
        budget_tokens=row.budget_tokens,
        budget_usd=row.budget_usd,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


class RunsMixin(StoreBase):
    """Creating, claiming, resuming and finishing runs."""

    def start_run(
        self,
        *,
        name: str,
        agenda_digest: str,
        config: dict[str, Any],
        seed: int = 0,
        budget_tokens: int | None = None,
        budget_usd: float | None = None,
        new: bool = False,
        takeover: bool = False,
    ) -> RunStart:
        """Create this agenda's run, or resume its unfinished one, and own it: atomically.

        Without `new`, the agenda's latest run is resumed unless it completed (then nothing is
        claimed and the outcome says so); with `new`, or when there is none, a run is created
        whose seed is `seed` plus the number of earlier runs of the agenda, so that runs of one
        agenda are independent samples.

        Raises:
            RunBusyError: another live process executes the run to resume (`takeover` only
                overrides an owner on another host, whose liveness cannot be checked here).
        """
        me = Owner.me()
        with self._locked(agenda_digest) as s:
            latest = latest_of(s, agenda_digest)
            if latest is not None and not new:
                if latest.status == "completed":
                    return RunStart(run=_record(latest), outcome="completed")
                _check_claimable(s, latest, me, takeover=takeover)
                latest.owner = str(me)
                latest.status = "running"
                latest.stop_reason = None
                latest.budget_tokens = budget_tokens
                latest.budget_usd = budget_usd
                latest.updated_at = utcnow()
                latest.finished_at = None
                s.flush()
                # Reservations left by a process that died with asks in flight are dropped;
                # its pending attempts count at their estimates, as the rows say.
                reconcile_in(s.connection(), latest.id)
                return RunStart(run=_record(latest), outcome="resumed")
            row = new_run(
                s, name=name, agenda_digest=agenda_digest, config=config, seed=seed,
                budget_tokens=budget_tokens, budget_usd=budget_usd, owner=str(me),
            )
            return RunStart(run=_record(row), outcome="created")

    def create_run(
        self,
        *,
        name: str,
        agenda_digest: str,
        config: dict[str, Any],
        seed: int = 0,
        budget_tokens: int | None = None,
        budget_usd: float | None = None,
    ) -> RunRecord:
        """Insert a run owned by nobody (for tests and tools; the pipeline uses `start_run`)."""
        with self._write() as s:
            row = Run(
                name=name,
                agenda_digest=agenda_digest,
                config=config,
                seed=seed,
                status="running",
                budget_tokens=budget_tokens,
                budget_usd=budget_usd,
            )
            s.add(row)
            s.flush()
            s.add(RunBudget(run_id=row.id))
            return _record(row)

    def get_run(self, run_id: int) -> RunRecord:
        with self._read() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}; `autoalign show runs` lists them")
            return _record(row)

    def latest_run(self, *, agenda_digest: str) -> RunRecord | None:
        with self._read() as s:
            row = latest_of(s, agenda_digest)
            return _record(row) if row else None

    def list_runs(self) -> list[RunRecord]:
        with self._read() as s:
            return [_record(r) for r in s.scalars(select(Run).order_by(Run.id))]

    def set_run_status(
        self, run_id: int, status: RunStatus, *, reason: str | None = None
    ) -> None:
        """Finish a run (`completed`, `stopped`, `failed`) with its reason and release it.

        A worker whose lease on the run was taken over (it paused past its lease, and another
        worker owns the run now) changes nothing: the run is the new owner's to finish.
        """
        if status == RunStatus.RUNNING:
            raise ValueError("a run becomes running only through start_run or claim_run")
        with self._write() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}")
            if _lost_to_another_worker(row.owner):
                return  # its lease expired and another worker took the run over: it finishes it
            row.owner = None
            row.status = status
            row.stop_reason = reason
            row.updated_at = utcnow()
            row.finished_at = utcnow()

    def claim_run(
        self, run_id: int, *, takeover: bool = False, lease: int | None = None
    ) -> None:
        """Make this process the owner of an existing run, marking it running.

        A run owned by a live process on this host is always refused; one owned by a process on
        another host (whose liveness cannot be checked from here) only with `takeover`. A run
        whose owner died (killed, crashed) is taken over silently: that is how a killed run
        resumes. A run owned through a work item's lease is refused while that lease is live.

        Args:
            run_id: the run.
            takeover: override an owner on another host.
            lease: the work item whose lease this process holds for the run (a worker); the
                run is then owned through that lease, and this process must hold it.

        Raises:
            RunBusyError: another process executes the run, or `lease` is not held by this
                process.
        """
        me = Owner.me()
        # The same lock as start_run's, so a claim and a start of one agenda never interleave.
        with self._locked(self.get_run(run_id).agenda_digest) as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}")
            owner = str(me)
            if lease is not None:
                _check_lease_held(s, lease, me)
                owner = f"{LEASE_OWNER_PREFIX}{lease}:{me}"
            _check_claimable(s, row, me, takeover=takeover, lease=lease)
            row.owner = owner
            row.status = "running"
            row.stop_reason = None
            row.finished_at = None
            row.updated_at = utcnow()
            reconcile_in(s.connection(), run_id)


def latest_of(s: Session, agenda_digest: str) -> Run | None:
    """The agenda's most recent run, if it has one."""
    return s.scalars(
        select(Run).where(Run.agenda_digest == agenda_digest).order_by(Run.id.desc())
    ).first()


def new_run(
    s: Session,
    *,
    name: str,
    agenda_digest: str,
    config: dict[str, Any],
    seed: int,
    budget_tokens: int | None,
    budget_usd: float | None,
    owner: str | None,
) -> Run:
    """Insert the agenda's next run (caller holds the agenda's lock): its seed is `seed` plus the
    number of earlier runs of the agenda, so that runs of one agenda are independent samples; it
    is `running` when owned, else `queued`."""
    earlier = s.scalar(
        select(func.count(Run.id)).where(Run.agenda_digest == agenda_digest)
    ) or 0
    row = Run(
        name=name,
        agenda_digest=agenda_digest,
        config=config,
        seed=seed + earlier,
        status=RunStatus.RUNNING if owner else RunStatus.QUEUED,
        owner=owner,
        budget_tokens=budget_tokens,
        budget_usd=budget_usd,
    )
    s.add(row)
    s.flush()
    s.add(RunBudget(run_id=row.id))  # its running totals start at zero
    return row


def db_now(s: Session) -> datetime:
    """The database's clock (PostgreSQL), so that leases compare alike from every host; this
    machine's clock on SQLite, which only one machine uses."""
    if s.get_bind().dialect.name == "postgresql":
        value = s.execute(text("SELECT clock_timestamp()")).scalar_one()
        if isinstance(value, datetime):
            return value.astimezone(UTC)
    return utcnow()


def _lost_to_another_worker(owner: str | None) -> bool:
    """Whether a run is owned through a lease held by another process than this one."""
    if not owner or not owner.startswith(LEASE_OWNER_PREFIX):
        return False
    holder = owner.removeprefix(LEASE_OWNER_PREFIX).partition(":")[2]
    return Owner.parse(holder) != Owner.me()


def _check_lease_held(s: Session, item_id: int, me: Owner) -> None:
    item = s.get(WorkItem, item_id)
    now = db_now(s)
    if (item is None or item.state != WorkState.CLAIMED or item.owner != str(me)
            or item.lease_until is None or item.lease_until <= now):
        raise RunBusyError(
            f"this process does not hold the lease of work item {item_id} (it expired or "
            "another worker took it over); the item will be run by its current owner"
        )


def _check_claimable(
    s: Session, row: Run, me: Owner, *, takeover: bool, lease: int | None = None
) -> None:
    if not row.owner:
        return
    if row.owner.startswith(LEASE_OWNER_PREFIX):
        item_id_text, _, holder = row.owner.removeprefix(LEASE_OWNER_PREFIX).partition(":")
        item_id = int(item_id_text)
        if lease == item_id or holder == str(me):
            return  # this process holds that very lease now (the earlier holder lost it)
        item = s.get(WorkItem, item_id)
        if (item is None or item.state != WorkState.CLAIMED or item.owner != holder
                or item.lease_until is None or item.lease_until <= db_now(s)):
            return  # the lease expired or was released: that worker is gone
        raise RunBusyError(
            f"run {row.id} is being executed by worker {holder} (work item {item_id}, lease "
            f"renewed until {item.lease_until:%H:%M:%S} UTC); wait for it, or stop that worker "
            "(a worker stopped with SIGTERM releases the run at once)"
        )
    owner = Owner.parse(row.owner)
    if (owner.host, owner.pid) == (me.host, me.pid):
        return  # this process already owns it (a resume within one process)
    if not owner.on_this_host():
        if takeover:
            return
        raise RunBusyError(
            f"run {row.id} is being executed by process {owner.pid} on host {owner.host}; wait "
            "for it, or pass --takeover if that process is gone"
        )
    if owner.alive():
        hint = " (--takeover only applies to a process on another host)" if takeover else ""
        raise RunBusyError(
            f"run {row.id} is being executed by process {owner.pid} on this host; wait for it "
            f"to finish, or stop it (kill {owner.pid}) and run again to resume{hint}"
        )
