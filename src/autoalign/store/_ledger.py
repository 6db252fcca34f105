"""The LLM call ledger and the response cache."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ._records import (
    CacheRecord,
    CallRecord,
    UsageTotals,
)
from ._schema import (
    CacheEntry,
    LLMCall,
)
from ._session import StoreBase


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
    ) -> None:
        """Add a ledger row; with `answer`, also cache it, in the same transaction, so a process
        killed in between can never leave a paid call that a resumed run would pay again."""
        with self._write() as s:
            if answer is not None:
                _put_answer(
                    s, key=answer.key, model=answer.model, request=answer.request,
                    raw=answer.raw, output=answer.output, error=answer.error,
                    input_tokens=answer.input_tokens, output_tokens=answer.output_tokens,
                )
            s.add(
                LLMCall(
                    run_id=run_id,
                    role=role,
                    model=model,
                    step_key=step_key,
                    cache_key=cache_key,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    latency_s=latency_s,
                    cost_usd=cost_usd,
                    cache_hit=cache_hit,
                    attempts=attempts,
                    error=error,
                )
            )

    def calls(self, *, run_id: int | None = None) -> list[CallRecord]:
        query = select(LLMCall).order_by(LLMCall.id)
        if run_id is not None:
            query = query.where(LLMCall.run_id == run_id)
        with self._read() as s:
            return [_call(r) for r in s.scalars(query)]

    def run_usage(self, run_id: int) -> UsageTotals:
        """Ledger totals of a run, aggregated in SQL (the budget check calls this per call)."""
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
        with self._read() as s:
            row = s.execute(query).one()
        calls, hits, errors, tokens_in, tokens_out, cost, unpriced, latency = row
        return UsageTotals(
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
        with self._read() as s:
            row = s.get(CacheEntry, key)
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
        with self._write() as s:
            _put_answer(
                s, key=key, model=model, request=request, raw=raw, output=output, error=error,
                input_tokens=input_tokens, output_tokens=output_tokens,
            )


def _put_answer(s: Session, **values: Any) -> None:
    """Insert a cache entry unless its key is there already, in the caller's transaction.

    Another process may cache the same key between any check and insert (two agendas sharing a
    prompt), so the insert itself ignores the conflict: the first answer stays, and the second
    writer's transaction (its ledger row) commits as if it had found it.
    """
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        s.execute(sqlite_insert(CacheEntry).values(**values).on_conflict_do_nothing())
    elif dialect == "postgresql":
        s.execute(pg_insert(CacheEntry).values(**values).on_conflict_do_nothing())
    elif s.get(CacheEntry, values["key"]) is None:
        s.add(CacheEntry(**values))


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
