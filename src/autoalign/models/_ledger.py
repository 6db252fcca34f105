"""`CallLedger`: what the model layer needs from the research database, and no more.

`ModelClient` books calls and reads its cache through this protocol instead of holding the whole
`Store`, so the model layer depends on eight methods, not on the store's schema or sessions.
`autoalign.store.Store` satisfies it structurally; a test double need implement only these.

The methods are blocking (they talk to a database); the client calls them in a worker thread
unless the ledger is `local`, so an implementation must be usable from threads other than the
one that made it, and must serialise its own writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..store import AttemptStatus, BudgetCheck, CacheRecord, Reservation, UsageTotals


class CallLedger(Protocol):
    """The ledger of model calls, the attempts behind them, and the response cache."""

    @property
    def local(self) -> bool:
        """Whether a read or write here is a local file operation of a fraction of a millisecond
        (SQLite) rather than a round trip to a server: the client then makes every trip (the
        cache lookup, the reservation, the attempt rows, the booking) on its event loop, which
        costs less than the hop to a worker thread."""
        ...

    def cache_get(self, key: str) -> CacheRecord | None:
        """The cached answer under `key`, or None."""
        ...

    def cache_drop(self, key: str, *, error: str) -> None:
        """Delete the cached failed reply under `key` if its error is `error`."""
        ...

    def begin_attempt(
        self,
        *,
        run_id: int | None,
        role: str,
        model: str,
        step_key: str | None,
        cache_key: str | None,
        est_tokens: int,
        est_cost_usd: float | None,
        reserved: bool = False,
    ) -> int:
        """Record a request before it is sent (status pending); return the attempt's id.
        `reserved`: sent under a reservation of `reserve_budget`, which counts it while
        pending."""
        ...

    def finish_attempt(
        self,
        attempt_id: int,
        status: AttemptStatus,
        *,
        error: str | None = None,
        reserved: bool = False,
    ) -> None:
        """Record the outcome of a request whose ask goes on (a retry) or was cut off;
        `reserved` as it was begun."""
        ...

    def record_call(
        self,
        *,
        run_id: int | None,
        role: str,
        model: str,
        step_key: str | None = None,
        cache_key: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        latency_s: float = 0.0,
        cost_usd: float | None = None,
        cache_hit: bool = False,
        attempts: int = 1,
        error: str | None = None,
        answer: CacheRecord | None = None,
        attempt_ids: Sequence[int] = (),
        last_attempt: AttemptStatus | None = None,
        reservation: Reservation | None = None,
    ) -> int:
        """Add a ledger row; with `answer`, cache it and finish the last of `attempt_ids` in the
        same transaction, which also gives `reservation` back. Return the row's id."""
        ...

    def run_usage(self, run_id: int) -> UsageTotals:
        """Ledger totals of a run, pending and lost attempts included at their estimates."""
        ...

    def reserve_budget(
        self,
        run_id: int,
        reservation: Reservation,
        *,
        max_tokens: int | None,
        max_usd: float | None,
    ) -> BudgetCheck:
        """Hold `reservation` against the run's budget if spent + unseen + reserved + it stays
        within the limits, atomically across clients and processes; O(1) in the run's size."""
        ...

    def release_budget(self, run_id: int, reservation: Reservation) -> None:
        """Give back a reservation whose ask ended without a ledger row."""
        ...
