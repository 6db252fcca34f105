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
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select

from ..errors import DataError, RunBusyError
from ..vocabulary import RunStatus
from ._budget import reconcile_in
from ._records import RunRecord
from ._schema import Run, RunBudget, utcnow
from ._session import StoreBase

RunStartOutcome = Literal["created", "resumed", "completed"]


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
            latest = s.scalars(
                select(Run).where(Run.agenda_digest == agenda_digest).order_by(Run.id.desc())
            ).first()
            if latest is not None and not new:
                if latest.status == "completed":
                    return RunStart(run=_record(latest), outcome="completed")
                _check_claimable(latest, me, takeover=takeover)
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
            earlier = s.scalar(
                select(func.count(Run.id)).where(Run.agenda_digest == agenda_digest)
            ) or 0
            row = Run(
                name=name,
                agenda_digest=agenda_digest,
                config=config,
                seed=seed + earlier,
                status="running",
                owner=str(me),
                budget_tokens=budget_tokens,
                budget_usd=budget_usd,
            )
            s.add(row)
            s.flush()
            s.add(RunBudget(run_id=row.id))
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
            row = s.scalars(
                select(Run).where(Run.agenda_digest == agenda_digest).order_by(Run.id.desc())
            ).first()
            return _record(row) if row else None

    def list_runs(self) -> list[RunRecord]:
        with self._read() as s:
            return [_record(r) for r in s.scalars(select(Run).order_by(Run.id))]

    def set_run_status(
        self, run_id: int, status: RunStatus, *, reason: str | None = None
    ) -> None:
        """Finish a run (`completed`, `stopped`, `failed`) with its reason and release it."""
        if status == RunStatus.RUNNING:
            raise ValueError("a run becomes running only through start_run or claim_run")
        with self._write() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}")
            row.owner = None
            row.status = status
            row.stop_reason = reason
            row.updated_at = utcnow()
            row.finished_at = utcnow()

    def claim_run(self, run_id: int, *, takeover: bool = False) -> None:
        """Make this process the owner of an existing run, marking it running.

        A run owned by a live process on this host is always refused; one owned by a process on
        another host (whose liveness cannot be checked from here) only with `takeover`. A run
        whose owner died (killed, crashed) is taken over silently: that is how a killed run
        resumes.

        Raises:
            RunBusyError: another process executes the run.
        """
        me = Owner.me()
        # The same lock as start_run's, so a claim and a start of one agenda never interleave.
        with self._locked(self.get_run(run_id).agenda_digest) as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}")
            _check_claimable(row, me, takeover=takeover)
            row.owner = str(me)
            row.status = "running"
            row.stop_reason = None
            row.finished_at = None
            row.updated_at = utcnow()
            reconcile_in(s.connection(), run_id)


def _check_claimable(row: Run, me: Owner, *, takeover: bool) -> None:
    if not row.owner:
        return
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
