"""The LLM call ledger, the attempts behind it, and the response cache.

An ask writes an attempt row (`llm_attempts`, status `pending`) before each request it sends and
finishes it after; the ask's ledger row (`llm_calls`), the answer in the cache and the closing of
its last attempt are one transaction. So whatever the provider may bill is in the database
before it is sent, and an answer that reached the cache is never paid for again. Each of these
writes also moves the run's running totals (`_budget.py`) in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ._budget import UNSEEN, adjust, unseen_delta
from ._records import (
    AttemptRecord,
    AttemptStatus,
    CacheRecord,
    CallRecord,
    Reservation,
    UsageTotals,
)
from ._schema import (
    CacheEntry,
    LLMAttempt,
    LLMCall,
    utcnow,
)
from ._session import HotConnection, StoreBase


class LedgerMixin(StoreBase):
    """Ledger rows (one per model call or cache hit) and cached answers."""

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
        """Add a ledger row and return its id; with `answer`, also cache it, in the same
        transaction, so a process killed in between can never leave a paid call that a resumed
        run would pay again.

        `attempt_ids` are the ask's attempt rows: they are linked to the ledger row, and the last
        one is finished with `last_attempt` (and `error`), in the same transaction. The run's
        totals take the row's tokens and cost, and give back `reservation`, the ask's hold on
        the budget (its attempts were sent under it), in that transaction too.
        """
        with self._write_conn() as conn:
            if answer is not None:
                _insert_cache(conn, answer)
            call_id = conn.execute(_INSERT_CALL, {
                "run_id": run_id, "role": role, "model": model, "step_key": step_key,
                "cache_key": cache_key, "input_tokens": input_tokens,
                "output_tokens": output_tokens, "latency_s": latency_s, "cost_usd": cost_usd,
                "cache_hit": cache_hit, "attempts": attempts, "error": error,
                "created_at": utcnow(),
            }).scalar_one()
            unseen_tokens, unseen_usd = 0, 0.0
            if attempt_ids:
                conn.execute(_LINK_ATTEMPT, [{"b_call_id": call_id, "b_id": attempt_id}
                                             for attempt_id in attempt_ids])
                if last_attempt is not None:
                    _, unseen_tokens, unseen_usd = _finish(
                        conn, attempt_ids[-1], last_attempt, error,
                        reserved=reservation is not None,
                    )
            spent_tokens = 0 if cache_hit else input_tokens + output_tokens
            spent_usd = 0.0 if cache_hit else cost_usd or 0.0
            adjust(
                conn, run_id, spent_tokens=spent_tokens, spent_usd=spent_usd,
                unseen_tokens=unseen_tokens, unseen_usd=unseen_usd,
                reserved_tokens=-reservation.tokens if reservation else 0,
                reserved_usd=-reservation.usd if reservation else 0.0,
            )
            return int(call_id)

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
        """Record, before it is sent, a request that may be billed; return the attempt's id.

        Until it is finished it is `pending` and counts against the run's budget at its estimate:
        through the ask's reservation when `reserved` (taken by `reserve_budget`), else in the
        run's unseen total.
        """
        with self._write_conn() as conn:
            attempt_id = conn.execute(_INSERT_ATTEMPT, {
                "run_id": run_id, "role": role, "model": model, "step_key": step_key,
                "cache_key": cache_key, "status": AttemptStatus.PENDING.value,
                "est_tokens": est_tokens, "est_cost_usd": est_cost_usd, "created_at": utcnow(),
            }).scalar_one()
            if not reserved:
                adjust(conn, run_id, unseen_tokens=est_tokens, unseen_usd=est_cost_usd or 0.0)
            return int(attempt_id)

    def finish_attempt(
        self,
        attempt_id: int,
        status: AttemptStatus,
        *,
        error: str | None = None,
        reserved: bool = False,
    ) -> None:
        """Record the outcome of a request whose ask goes on (a retry follows) or was cut off;
        `reserved` as it was begun."""
        with self._write_conn() as conn:
            run_id, tokens, usd = _finish(conn, attempt_id, status, error, reserved=reserved)
            adjust(conn, run_id, unseen_tokens=tokens, unseen_usd=usd)

    def attempts(self, *, run_id: int | None = None) -> list[AttemptRecord]:
        """Attempt rows in the order they were sent, of one run or of all."""
        query = select(LLMAttempt).order_by(LLMAttempt.id)
        if run_id is not None:
            query = query.where(LLMAttempt.run_id == run_id)
        with self._read() as s:
            return [_attempt(r) for r in s.scalars(query)]

    def calls(self, *, run_id: int | None = None) -> list[CallRecord]:
        query = select(LLMCall).order_by(LLMCall.id)
        if run_id is not None:
            query = query.where(LLMCall.run_id == run_id)
        with self._read() as s:
            return [_call(r) for r in s.scalars(query)]

    def run_usage(self, run_id: int) -> UsageTotals:
        """Ledger totals of a run, aggregated in SQL over all its rows: the report. The budget
        check reads the running totals instead (`reserve_budget`)."""
        paid = LLMCall.cache_hit.is_(False)
        query = select(
            func.count(LLMCall.id),
            func.count(LLMCall.id).filter(LLMCall.cache_hit.is_(True)),
            func.count(LLMCall.id).filter(LLMCall.error.is_not(None)),
            func.coalesce(func.sum(LLMCall.input_tokens).filter(paid), 0),
            func.coalesce(func.sum(LLMCall.output_tokens).filter(paid), 0),
            func.coalesce(func.sum(LLMCall.cost_usd).filter(paid), 0.0),
            func.count(LLMCall.id).filter(paid, LLMCall.cost_usd.is_(None)),
            func.coalesce(func.sum(LLMCall.latency_s), 0.0),
        ).where(LLMCall.run_id == run_id)
        unseen = LLMAttempt.status.in_(UNSEEN)
        attempts = select(
            func.count(LLMAttempt.id).filter(LLMAttempt.status == AttemptStatus.PENDING.value),
            func.coalesce(func.sum(LLMAttempt.est_tokens).filter(unseen), 0),
            func.coalesce(func.sum(LLMAttempt.est_cost_usd).filter(unseen), 0.0),
        ).where(LLMAttempt.run_id == run_id)
        with self._read() as s:
            row = s.execute(query).one()
            unfinished, unseen_tokens, unseen_usd = s.execute(attempts).one()
        calls, hits, errors, tokens_in, tokens_out, cost, unpriced, latency = row
        return UsageTotals(
            unfinished_calls=int(unfinished),
            unseen_tokens=int(unseen_tokens),
            unseen_usd=float(unseen_usd or 0.0),
            calls=int(calls),
            cache_hits=int(hits),
            errors=int(errors),
            input_tokens=int(tokens_in),
            output_tokens=int(tokens_out),
            cost_usd=float(cost or 0.0),
            unpriced_calls=int(unpriced),
            latency_s=float(latency or 0.0),
        )

    def cache_get(self, key: str) -> CacheRecord | None:
        with self._read_conn() as conn:
            row = conn.execute(_CACHE_GET, {"key": key}).first()
        if row is None:
            return None
        return CacheRecord(
            key=row.key,
            model=row.model,
            raw=row.raw,
            output=row.output,
            error=row.error,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
        )

    def cache_drop(self, key: str, *, error: str) -> None:
        """Delete the cached failed reply under `key` if its error is `error`: one a later
        attempt could fix (an answer that validated is never dropped)."""
        with self._write() as s:
            s.execute(delete(CacheEntry).where(CacheEntry.key == key, CacheEntry.error == error))

    def cache_put(
        self,
        *,
        key: str,
        model: str,
        request: Any,
        raw: str,
        output: Any,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """Store an answer; a second put of the same key keeps the first (answers are final)."""
        record = CacheRecord(
            key=key,
            model=model,
            request=request,
            raw=raw,
            output=output,
            error=error,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )
        with self._write_conn() as conn:
            _insert_cache(conn, record)


def _insert_cache(conn: HotConnection, answer: CacheRecord) -> None:
    """Insert an answer unless its key is cached already, race-free across processes: the first
    answer stays (`INSERT ... ON CONFLICT DO NOTHING`)."""
    conn.execute(_CACHE_INSERT[conn.dialect.name == "postgresql"], {
        "key": answer.key,
        "model": answer.model,
        "request": answer.request,
        "raw": answer.raw,
        "output": answer.output,
        "error": answer.error,
        "input_tokens": answer.input_tokens,
        "output_tokens": answer.output_tokens,
        "created_at": utcnow(),
    })


def _finish(
    conn: HotConnection,
    attempt_id: int,
    status: AttemptStatus,
    error: str | None,
    *,
    reserved: bool,
) -> tuple[int | None, int, float]:
    """Finish an attempt; return its run and how its move changes the run's unseen total
    (tokens, USD)."""
    before = conn.execute(_ATTEMPT_STATE, {"id": attempt_id}).first()
    conn.execute(_FINISH, {"b_id": attempt_id, "b_status": status.value, "b_error": error,
                           "b_finished_at": utcnow()})
    if before is None:
        return None, 0, 0.0
    run_id, old, est_tokens, est_usd = before
    sign = unseen_delta(AttemptStatus(old), status, reserved=reserved)
    return run_id, sign * est_tokens, sign * (est_usd or 0.0)


def _cache_insert(dialect: Any) -> Any:
    return dialect.insert(CacheEntry).on_conflict_do_nothing(index_elements=[CacheEntry.key])


# Statements built once (see `_budget.py`): keyed by whether the dialect is PostgreSQL.
_CACHE_INSERT = {False: _cache_insert(sqlite), True: _cache_insert(postgresql)}
_CACHE_GET = select(
    CacheEntry.key, CacheEntry.model, CacheEntry.raw, CacheEntry.output, CacheEntry.error,
    CacheEntry.input_tokens, CacheEntry.output_tokens,
).where(CacheEntry.key == bindparam("key"))
_INSERT_CALL = insert(LLMCall).returning(LLMCall.id)
_INSERT_ATTEMPT = insert(LLMAttempt).returning(LLMAttempt.id)
_LINK_ATTEMPT = (
    update(LLMAttempt)
    .where(LLMAttempt.id == bindparam("b_id"))
    .values(call_id=bindparam("b_call_id"))
)
_ATTEMPT_STATE = select(
    LLMAttempt.run_id, LLMAttempt.status, LLMAttempt.est_tokens, LLMAttempt.est_cost_usd
).where(LLMAttempt.id == bindparam("id"))
_FINISH = (
    update(LLMAttempt)
    .where(LLMAttempt.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), error=bindparam("b_error"),
            finished_at=bindparam("b_finished_at"))
)


def _attempt(row: LLMAttempt) -> AttemptRecord:
    return AttemptRecord(
        id=row.id,
        run_id=row.run_id,
        call_id=row.call_id,
        role=row.role,
        model=row.model,
        step_key=row.step_key,
        cache_key=row.cache_key,
        status=AttemptStatus(row.status),
        est_tokens=row.est_tokens,
        est_cost_usd=row.est_cost_usd,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _call(row: LLMCall) -> CallRecord:
    return CallRecord(
        id=row.id,
        run_id=row.run_id,
        role=row.role,
        model=row.model,
        step_key=row.step_key,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        latency_s=row.latency_s,
        cost_usd=row.cost_usd,
        cache_hit=row.cache_hit,
        attempts=row.attempts,
        error=row.error,
    )
