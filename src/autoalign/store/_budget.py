"""Running totals of a run's spending, and reservations against its budget.

A budget check used to re-total every ledger and attempt row of the run before each call, so a
run's checks cost grew with the square of its size. Instead each run has one `run_budgets` row:

- `spent`: what the run's ledger rows paid (tokens, USD), added in the transaction that writes
  each row;
- `unseen`: estimates of `pending` and `lost` attempts that may have been billed without a known
  outcome (`AttemptStatus.may_be_billed_unseen`), moved in the transaction that writes or
  finishes each attempt;
- `reserved`: estimates of asks that passed the check and are not yet booked. A check is one
  conditional `UPDATE ... SET reserved = reserved + :est WHERE spent + unseen + reserved + :est
  <= :limit`: atomic in SQLite (one writer) and PostgreSQL (the row lock, re-checked after a
  concurrent update), so asks of any number of clients and processes never overshoot together.

An attempt sent under a reservation is counted by it while it is pending (not in `unseen` too);
it joins `unseen` if it ends `lost`. A process that dies leaves its reservations behind: a run
that is started, resumed or claimed has its totals rebuilt from the rows once
(`reconcile_budget`), where every pending attempt counts at its estimate, as the ledger says.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ._records import AttemptStatus, BudgetCheck, BudgetTotals, Reservation
from ._schema import LLMAttempt, LLMCall, RunBudget
from ._session import StoreBase

UNSEEN = [status.value for status in AttemptStatus if status.may_be_billed_unseen]


class BudgetMixin(StoreBase):
    """Per-run running totals and reservations (see the module docstring)."""

    def reserve_budget(
        self,
        run_id: int,
        reservation: Reservation,
        *,
        max_tokens: int | None,
        max_usd: float | None,
    ) -> BudgetCheck:
        """Hold `reservation` against the run's budget if it fits under the limits, atomically
        across clients and processes; the totals say what the check saw."""
        with self._write() as s:
            granted = _try_reserve(s, run_id, reservation, max_tokens, max_usd)
            if not granted and s.get(RunBudget, run_id) is None:
                _reconcile(s, run_id)  # a run from before the totals existed
                granted = _try_reserve(s, run_id, reservation, max_tokens, max_usd)
            row = s.get(RunBudget, run_id, populate_existing=True)
            assert row is not None  # created above when it was missing
            return BudgetCheck(granted=granted, totals=_totals(row))

    def release_budget(self, run_id: int, reservation: Reservation) -> None:
        """Give back a reservation whose ask ended without a ledger row (cancelled, or failed
        before it was sent)."""
        with self._write() as s:
            adjust(s, run_id, reserved_tokens=-reservation.tokens, reserved_usd=-reservation.usd)

    def budget_totals(self, run_id: int) -> BudgetTotals:
        """The run's running totals (re-totalled from the rows if it has none yet)."""
        with self._read() as s:
            row = s.get(RunBudget, run_id)
            if row is not None:
                return _totals(row)
            spent_tokens, spent_usd, unseen_tokens, unseen_usd = retotal(s, run_id)
        return BudgetTotals(
            spent_tokens=spent_tokens, spent_usd=spent_usd, unseen_tokens=unseen_tokens,
            unseen_usd=unseen_usd, reserved_tokens=0, reserved_usd=0.0,
        )

    def reconcile_budget(self, run_id: int) -> BudgetTotals:
        """Rebuild the run's totals from its ledger and attempt rows, dropping every reservation.

        Only safe when no other process is spending on the run (`start_run` and `claim_run` call
        it once they own the run): a live ask's reservation would be forgotten.
        """
        with self._write() as s:
            return _totals(_reconcile(s, run_id))


def retotal(s: Session, run_id: int) -> tuple[int, float, int, float]:
    """(spent tokens, spent USD, unseen tokens, unseen USD) of a run, summed over its rows."""
    paid = LLMCall.cache_hit.is_(False)
    spent_tokens, spent_usd = s.execute(
        select(
            func.coalesce(func.sum(LLMCall.input_tokens + LLMCall.output_tokens).filter(paid), 0),
            func.coalesce(func.sum(LLMCall.cost_usd).filter(paid), 0.0),
        ).where(LLMCall.run_id == run_id)
    ).one()
    unseen = LLMAttempt.status.in_(UNSEEN)
    unseen_tokens, unseen_usd = s.execute(
        select(
            func.coalesce(func.sum(LLMAttempt.est_tokens).filter(unseen), 0),
            func.coalesce(func.sum(LLMAttempt.est_cost_usd).filter(unseen), 0.0),
        ).where(LLMAttempt.run_id == run_id)
    ).one()
    return int(spent_tokens), float(spent_usd or 0.0), int(unseen_tokens), float(unseen_usd or 0.0)


def adjust(
    s: Session,
    run_id: int | None,
    *,
    spent_tokens: int = 0,
    spent_usd: float = 0.0,
    unseen_tokens: int = 0,
    unseen_usd: float = 0.0,
    reserved_tokens: int = 0,
    reserved_usd: float = 0.0,
) -> None:
    """Add to a run's totals, in the caller's transaction (after its rows are flushed).

    A run without a totals row (made before they existed) gets one rebuilt from its rows, which
    already include the caller's change.
    """
    deltas = (spent_tokens, spent_usd, unseen_tokens, unseen_usd, reserved_tokens, reserved_usd)
    if run_id is None or not any(deltas):
        return
    result = s.connection().execute(
        update(RunBudget)
        .where(RunBudget.run_id == run_id)
        .values(
            spent_tokens=RunBudget.spent_tokens + spent_tokens,
            spent_usd=RunBudget.spent_usd + spent_usd,
            unseen_tokens=RunBudget.unseen_tokens + unseen_tokens,
            unseen_usd=RunBudget.unseen_usd + unseen_usd,
            reserved_tokens=RunBudget.reserved_tokens + reserved_tokens,
            reserved_usd=RunBudget.reserved_usd + reserved_usd,
        )
    )
    if result.rowcount == 0:
        _reconcile(s, run_id)


def unseen_delta(
    before: AttemptStatus, after: AttemptStatus, *, reserved: bool
) -> int:
    """How an attempt's move from `before` to `after` changes whether its estimate is in
    `unseen`: +1, 0 or -1. A pending attempt sent under a reservation is not in `unseen`."""
    was = before.may_be_billed_unseen and not (reserved and before is AttemptStatus.PENDING)
    return int(after.may_be_billed_unseen) - int(was)


def _try_reserve(
    s: Session,
    run_id: int,
    reservation: Reservation,
    max_tokens: int | None,
    max_usd: float | None,
) -> bool:
    conditions = [RunBudget.run_id == run_id]
    if max_tokens is not None:
        used = RunBudget.spent_tokens + RunBudget.unseen_tokens + RunBudget.reserved_tokens
        conditions.append(used + reservation.tokens <= max_tokens)
    if max_usd is not None:
        used_usd = RunBudget.spent_usd + RunBudget.unseen_usd + RunBudget.reserved_usd
        conditions.append(used_usd + reservation.usd <= max_usd)
    result = s.connection().execute(
        update(RunBudget)
        .where(*conditions)
        .values(
            reserved_tokens=RunBudget.reserved_tokens + reservation.tokens,
            reserved_usd=RunBudget.reserved_usd + reservation.usd,
        )
    )
    return result.rowcount == 1


def reconcile_in(s: Session, run_id: int) -> None:
    """`reconcile_budget` in the caller's transaction (which owns the run)."""
    _reconcile(s, run_id)


def _reconcile(s: Session, run_id: int) -> RunBudget:
    spent_tokens, spent_usd, unseen_tokens, unseen_usd = retotal(s, run_id)
    row = s.get(RunBudget, run_id, populate_existing=True)
    if row is None:
        row = RunBudget(run_id=run_id)
        s.add(row)
    row.spent_tokens, row.spent_usd = spent_tokens, spent_usd
    row.unseen_tokens, row.unseen_usd = unseen_tokens, unseen_usd
    row.reserved_tokens, row.reserved_usd = 0, 0.0
    s.flush()
    return row


def _totals(row: RunBudget) -> BudgetTotals:
    return BudgetTotals(
        spent_tokens=row.spent_tokens,
        spent_usd=row.spent_usd,
        unseen_tokens=row.unseen_tokens,
        unseen_usd=row.unseen_usd,
        reserved_tokens=row.reserved_tokens,
        reserved_usd=row.reserved_usd,
    )
