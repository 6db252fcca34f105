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

from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from ._records import AttemptStatus, BudgetCheck, BudgetTotals, Reservation
from ._schema import LLMAttempt, LLMCall, RunBudget
from ._session import HotConnection, StoreBase

UNSEEN = [status.value for status in AttemptStatus if status.may_be_billed_unseen]

# Statements built once: every model call runs a few of them, and building a statement costs
# more than SQLite takes to run it.
_B = RunBudget
_COLUMNS = (_B.spent_tokens, _B.spent_usd, _B.unseen_tokens, _B.unseen_usd, _B.reserved_tokens,
            _B.reserved_usd)
_ADJUST = (
    update(_B)
    .where(_B.run_id == bindparam("rid"))
    .values(
        spent_tokens=_B.spent_tokens + bindparam("st"),
        spent_usd=_B.spent_usd + bindparam("su"),
        unseen_tokens=_B.unseen_tokens + bindparam("nt"),
        unseen_usd=_B.unseen_usd + bindparam("nu"),
        reserved_tokens=_B.reserved_tokens + bindparam("rt"),
        reserved_usd=_B.reserved_usd + bindparam("ru"),
    )
)
_TOTALS = select(*_COLUMNS).where(_B.run_id == bindparam("rid"))
_USED_TOKENS = _B.spent_tokens + _B.unseen_tokens + _B.reserved_tokens
_USED_USD = _B.spent_usd + _B.unseen_usd + _B.reserved_usd


def _reserve_statement(tokens_limit: bool, usd_limit: bool) -> Any:
    conditions = [_B.run_id == bindparam("rid")]
    if tokens_limit:
        conditions.append(_USED_TOKENS + bindparam("rt") <= bindparam("mt"))
    if usd_limit:
        conditions.append(_USED_USD + bindparam("ru") <= bindparam("mu"))
    return (
        update(_B)
        .where(*conditions)
        .values(reserved_tokens=_B.reserved_tokens + bindparam("rt"),
                reserved_usd=_B.reserved_usd + bindparam("ru"))
        .returning(*_COLUMNS)
    )


_RESERVE = {(t, u): _reserve_statement(t, u) for t in (False, True) for u in (False, True)}
_PAID = LLMCall.cache_hit.is_(False)
_SPENT = select(
    func.coalesce(func.sum(LLMCall.input_tokens + LLMCall.output_tokens).filter(_PAID), 0),
    func.coalesce(func.sum(LLMCall.cost_usd).filter(_PAID), 0.0),
).where(LLMCall.run_id == bindparam("rid"))
_IS_UNSEEN = LLMAttempt.status.in_(UNSEEN)
_UNSEEN_SUMS = select(
    func.coalesce(func.sum(LLMAttempt.est_tokens).filter(_IS_UNSEEN), 0),
    func.coalesce(func.sum(LLMAttempt.est_cost_usd).filter(_IS_UNSEEN), 0.0),
).where(LLMAttempt.run_id == bindparam("rid"))
_SET = (
    update(_B)
    .where(_B.run_id == bindparam("rid"))
    .values(spent_tokens=bindparam("st"), spent_usd=bindparam("su"),
            unseen_tokens=bindparam("nt"), unseen_usd=bindparam("nu"), reserved_tokens=0,
            reserved_usd=0.0)
)
_INSERT = insert(_B).values(
    run_id=bindparam("rid"), spent_tokens=bindparam("st"), spent_usd=bindparam("su"),
    unseen_tokens=bindparam("nt"), unseen_usd=bindparam("nu"), reserved_tokens=0,
    reserved_usd=0.0,
)


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
        with self._write_conn() as conn:
            totals = _try_reserve(conn, run_id, reservation, max_tokens, max_usd)
            if totals is None and conn.execute(_TOTALS, {"rid": run_id}).first() is None:
                _reconcile(conn, run_id)  # a run from before the totals existed
                totals = _try_reserve(conn, run_id, reservation, max_tokens, max_usd)
            if totals is not None:
                return BudgetCheck(granted=True, totals=totals)
            row = conn.execute(_TOTALS, {"rid": run_id}).one()
            return BudgetCheck(granted=False, totals=_totals(row))

    def release_budget(self, run_id: int, reservation: Reservation) -> None:
        """Give back a reservation whose ask ended without a ledger row (cancelled, or failed
        before it was sent)."""
        with self._write_conn() as conn:
            adjust(conn, run_id, reserved_tokens=-reservation.tokens,
                   reserved_usd=-reservation.usd)

    def budget_totals(self, run_id: int) -> BudgetTotals:
        """The run's running totals (re-totalled from the rows if it has none yet)."""
        with self._read_conn() as conn:
            row = conn.execute(_TOTALS, {"rid": run_id}).first()
            if row is not None:
                return _totals(row)
            spent_tokens, spent_usd, unseen_tokens, unseen_usd = retotal(conn, run_id)
        return BudgetTotals(
            spent_tokens=spent_tokens, spent_usd=spent_usd, unseen_tokens=unseen_tokens,
            unseen_usd=unseen_usd, reserved_tokens=0, reserved_usd=0.0,
        )

    def reconcile_budget(self, run_id: int) -> BudgetTotals:
        """Rebuild the run's totals from its ledger and attempt rows, dropping every reservation.

        Only safe when no other process is spending on the run (`start_run` and `claim_run` call
        it once they own the run): a live ask's reservation would be forgotten.
        """
        with self._write_conn() as conn:
            return _reconcile(conn, run_id)


def retotal(conn: HotConnection, run_id: int) -> tuple[int, float, int, float]:
    """(spent tokens, spent USD, unseen tokens, unseen USD) of a run, summed over its rows."""
    spent_tokens, spent_usd = conn.execute(_SPENT, {"rid": run_id}).one()
    unseen_tokens, unseen_usd = conn.execute(_UNSEEN_SUMS, {"rid": run_id}).one()
    return int(spent_tokens), float(spent_usd or 0.0), int(unseen_tokens), float(unseen_usd or 0.0)


def adjust(
    conn: HotConnection,
    run_id: int | None,
    *,
    spent_tokens: int = 0,
    spent_usd: float = 0.0,
    unseen_tokens: int = 0,
    unseen_usd: float = 0.0,
    reserved_tokens: int = 0,
    reserved_usd: float = 0.0,
) -> None:
    """Add to a run's totals, in the caller's transaction (after its rows are written).

    A run without a totals row (made before they existed) gets one rebuilt from its rows, which
    already include the caller's change.
    """
    deltas = (spent_tokens, spent_usd, unseen_tokens, unseen_usd, reserved_tokens, reserved_usd)
    if run_id is None or not any(deltas):
        return
    result = conn.execute(_ADJUST, {
        "rid": run_id, "st": spent_tokens, "su": spent_usd, "nt": unseen_tokens,
        "nu": unseen_usd, "rt": reserved_tokens, "ru": reserved_usd,
    })
    if result.rowcount == 0:
        _reconcile(conn, run_id)


def unseen_delta(
    before: AttemptStatus, after: AttemptStatus, *, reserved: bool
) -> int:
    """How an attempt's move from `before` to `after` changes whether its estimate is in
    `unseen`: +1, 0 or -1. A pending attempt sent under a reservation is not in `unseen`."""
    was = before.may_be_billed_unseen and not (reserved and before is AttemptStatus.PENDING)
    return int(after.may_be_billed_unseen) - int(was)


def reconcile_in(conn: HotConnection, run_id: int) -> None:
    """`reconcile_budget` in the caller's transaction (which owns the run)."""
    _reconcile(conn, run_id)


def _try_reserve(
    conn: HotConnection,
    run_id: int,
    reservation: Reservation,
    max_tokens: int | None,
    max_usd: float | None,
) -> BudgetTotals | None:
    """The totals with the reservation added, or None if it does not fit (or no row)."""
    statement = _RESERVE[max_tokens is not None, max_usd is not None]
    row = conn.execute(statement, {
        "rid": run_id, "rt": reservation.tokens, "ru": reservation.usd, "mt": max_tokens,
        "mu": max_usd,
    }).first()
    return None if row is None else _totals(row)


def _reconcile(conn: HotConnection, run_id: int) -> BudgetTotals:
    spent_tokens, spent_usd, unseen_tokens, unseen_usd = retotal(conn, run_id)
    values = {"rid": run_id, "st": spent_tokens, "su": spent_usd, "nt": unseen_tokens,
              "nu": unseen_usd}
    if conn.execute(_SET, values).rowcount == 0:
        conn.execute(_INSERT, values)
    return BudgetTotals(
        spent_tokens=spent_tokens, spent_usd=spent_usd, unseen_tokens=unseen_tokens,
        unseen_usd=unseen_usd, reserved_tokens=0, reserved_usd=0.0,
    )


def _totals(row: Any) -> BudgetTotals:
    spent_tokens, spent_usd, unseen_tokens, unseen_usd, reserved_tokens, reserved_usd = row
    return BudgetTotals(
        spent_tokens=int(spent_tokens),
        spent_usd=float(spent_usd),
        unseen_tokens=int(unseen_tokens),
        unseen_usd=float(unseen_usd),
        reserved_tokens=int(reserved_tokens),
        reserved_usd=float(reserved_usd),
    )
