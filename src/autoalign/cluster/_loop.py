"""The worker loop: claim an item, run it under a renewed lease, record how it ended; repeat.

One `Worker` runs `concurrency` slots in one event loop. Each slot claims the oldest ready item of
the worker's kinds, runs its handler while a heartbeat renews the lease every third of the lease,
and finishes the item (`done` with its result, or `failed` with the error). When the heartbeat
finds the item taken (its lease had expired, say the worker was paused, and another worker claimed
it), the handler is cancelled and the item left to its new owner. `stop()` (SIGTERM, Ctrl-C)
cancels the handlers and gives their items back to the queue at once; a project's run records
`stopped: interrupted` and the next worker resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from ..errors import AutoalignError
from ..sandbox import IsolationLevel
from ..store import Owner, Store, WorkItemRecord
from ..vocabulary import WorkKind
from ._handlers import Outcome, describe_item, run_project, run_sandbox

DEFAULT_LEASE_S = 30.0
"""Seconds a claim lasts without a heartbeat; a dead worker's item is claimable after this."""
DEFAULT_POLL_S = 1.0
"""Seconds an idle slot waits before it looks at the queue again."""

ItemOutcome = Literal["done", "failed", "released", "lost"]


@dataclass(frozen=True, kw_only=True)
class ItemEvent:
    """One item a worker finished with, for its one-line report."""

    item: WorkItemRecord
    what: str
    """`item 7 project run 3 (name)`."""
    outcome: ItemOutcome
    """`done`, `failed` (the handler raised), `released` (the worker stopped and gave it back)
    or `lost` (another worker took it over after the lease expired)."""
    seconds: float
    detail: str
    """How it ended (`completed, 40 calls`), or the error."""


@dataclass(kw_only=True)
class WorkerStats:
    """What one worker did."""

    done: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0
    events: list[ItemEvent] = field(default_factory=list)


class Worker:
    """Claims and runs work items from one research database until stopped."""

    def __init__(
        self,
        store: Store,
        *,
        kinds: Sequence[WorkKind] = tuple(WorkKind),
        concurrency: int = 1,
        lease_s: float = DEFAULT_LEASE_S,
        poll_s: float = DEFAULT_POLL_S,
        once: bool = False,
        idle_exit_s: float | None = None,
        isolation: IsolationLevel | None = None,
        on_item: Callable[[ItemEvent], None] | None = None,
    ) -> None:
        """Set the worker up; nothing is claimed before `run`.

        Args:
            store: the shared research database.
            kinds: which kinds of items to claim.
            concurrency: items run at once in this process.
            lease_s: seconds a claim lasts unless renewed (the heartbeat renews it every
                third of that); a dead worker's items are claimed again after it.
            poll_s: seconds an idle slot waits before looking at the queue again.
            once: run at most one item, then return.
            idle_exit_s: return once no item was running or ready for this many seconds.
            isolation: sandbox isolation level for sandbox items (default: detected).
            on_item: called with each finished item (the CLI prints a line).
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if lease_s <= 0 or poll_s <= 0:
            raise ValueError(f"lease_s and poll_s must be positive, got {lease_s}, {poll_s}")
        if not kinds:
            raise ValueError("a worker needs at least one kind of work")
        self.store = store
        self.kinds = tuple(kinds)
        self.concurrency = 1 if once else concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.once = once
        self.idle_exit_s = idle_exit_s
        self.isolation = isolation
        self.on_item = on_item
        self.owner = str(Owner.me())
        self.stats = WorkerStats()
        self._running: dict[int, asyncio.Task[Outcome]] = {}
        self._lost: set[int] = set()
        self._stopping = asyncio.Event()
        self._last_busy = time.monotonic()

    def stop(self) -> None:
        """Stop claiming, cancel running items and give them back to the queue (call it from
        the worker's event loop, e.g. a signal handler)."""
        self._stopping.set()
        for task in self._running.values():
            task.cancel()

    async def run(self, *, stop_signals: Sequence[signal.Signals] = ()) -> WorkerStats:
        """Claim and run items until stopped, idle for `idle_exit_s`, or (`once`) one is done.

        Args:
            stop_signals: signals that call `stop()` while this runs (the CLI passes SIGTERM
                and SIGINT).
        """
        loop = asyncio.get_running_loop()
        for sig in stop_signals:
            loop.add_signal_handler(sig, self.stop)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.concurrency):
                    group.create_task(self._slot())
        finally:
            for sig in stop_signals:
                loop.remove_signal_handler(sig)
        return self.stats

    async def _slot(self) -> None:
        while not self._stopping.is_set():
            try:
                item = await asyncio.to_thread(
                    self.store.claim_work, owner=self.owner, kinds=self.kinds,
                    lease_s=self.lease_s,
                )
            except SQLAlchemyError:
                item = None  # the database is briefly unreachable: try again after a pause
            if item is None:
                if self.once or self._idle_too_long():
                    self._stopping.set()
                    return
                await _wait(self._stopping, self.poll_s)
                continue
            await self._work(item)
            if self.once:
                self._stopping.set()
                return

    def _idle_too_long(self) -> bool:
        if self.idle_exit_s is None or self._running:
            return False
        return time.monotonic() - self._last_busy >= self.idle_exit_s

    async def _work(self, item: WorkItemRecord) -> None:
        started = time.monotonic()
        try:
            what = await asyncio.to_thread(describe_item, self.store, item)
        except (AutoalignError, SQLAlchemyError):
            what = f"item {item.id} {item.kind}"
        handler = asyncio.create_task(self._handle(item))
        self._running[item.id] = handler
        if self._stopping.is_set():
            handler.cancel()
        beat = asyncio.create_task(self._heartbeat(item, handler))
        try:
            await asyncio.wait([handler])
        finally:
            beat.cancel()
            del self._running[item.id]
            self._last_busy = time.monotonic()
        try:
            outcome, detail = await self._settle(item, handler)
        except SQLAlchemyError as exc:
            outcome, detail = "lost", (f"could not record how it ended ({type(exc).__name__}); "
                                       "it is claimed again when its lease expires")
        event = ItemEvent(item=item, what=what, outcome=outcome,
                          seconds=time.monotonic() - started, detail=detail)
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        self.stats.events.append(event)
        if self.on_item is not None:
            self.on_item(event)

    async def _settle(
        self, item: WorkItemRecord, handler: asyncio.Task[Outcome]
    ) -> tuple[ItemOutcome, str]:
        """Record how the handler ended on the item; the outcome and its account."""
        if item.id in self._lost:
            return "lost", "its lease was taken over by another worker, which goes on with it"
        if handler.cancelled():
            given_back = await asyncio.to_thread(self.store.release_work, item.id,
                                                 owner=self.owner)
            if not given_back:
                return "lost", "another worker had taken it over"
            return "released", "worker stopping; another worker resumes it"
        exc = handler.exception()
        if exc is None:
            outcome = handler.result()
            if await asyncio.to_thread(self.store.finish_work, item.id, owner=self.owner,
                                       result=outcome.result):
                return "done", outcome.summary
            return "lost", f"{outcome.summary}, but another worker had taken it over"
        error = (str(exc) if isinstance(exc, AutoalignError)
                 else f"internal error {type(exc).__name__}: {exc}")
        await asyncio.to_thread(self.store.finish_work, item.id, owner=self.owner,
                                error=error[:2000])
        return "failed", error

    async def _handle(self, item: WorkItemRecord) -> Outcome:
        if item.kind == WorkKind.PROJECT:
            return await run_project(self.store, item)
        if item.kind == WorkKind.SANDBOX:
            return await run_sandbox(item, isolation=self.isolation)
        raise ValueError(f"work item {item.id} has the unknown kind {item.kind!r}")

    async def _heartbeat(self, item: WorkItemRecord, handler: asyncio.Task[Outcome]) -> None:
        """Renew the lease every third of it; cancel the handler once the item is lost (taken
        by another worker, or the database unreachable until the lease ran out)."""
        deadline = time.monotonic() + self.lease_s
        while not handler.done():
            await asyncio.sleep(self.lease_s / 3)
            try:
                held: bool | None = await asyncio.to_thread(
                    self.store.renew_work_lease, item.id, owner=self.owner, lease_s=self.lease_s
                )
            except SQLAlchemyError:
                held = None
            if held:
                deadline = time.monotonic() + self.lease_s
            elif held is False or time.monotonic() > deadline:
                self._lost.add(item.id)
                handler.cancel()
                return


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `event` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)


def run_worker_sync(worker: Worker, *, stop_signals: Sequence[signal.Signals] = ()) -> (
    WorkerStats
):
    """Synchronous twin of `Worker.run`, for the CLI."""
    return asyncio.run(worker.run(stop_signals=stop_signals))
