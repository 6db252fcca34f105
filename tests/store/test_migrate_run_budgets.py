"""Revision 0008: the `run_budgets` table; existing runs get totals computed from their rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import LLMAttempt, LLMCall, Run
from autoalign.store._store import make_engine


def test_upgrading_from_0007_totals_existing_runs(db_url: str) -> None:
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0007")
            assert "run_budgets" not in inspect(conn).get_table_names()
        with engine.begin() as conn:
            run = conn.execute(Run.__table__.insert().values(
                name="old", agenda_digest="o" * 64, config={}, seed=0, status="stopped",
                created_at=now, updated_at=now,
            )).inserted_primary_key[0]
            calls = [(30, 8, 0.5, False), (30, 8, None, False), (99, 99, 9.0, True)]
            for tokens_in, tokens_out, cost, hit in calls:
                conn.execute(LLMCall.__table__.insert().values(
                    run_id=run, role="critic", model="m", input_tokens=tokens_in,
                    output_tokens=tokens_out, latency_s=0.0, cost_usd=cost, cache_hit=hit,
                    attempts=1, created_at=now,
                ))
            for status, est in (("pending", 100), ("lost", 20), ("answered", 1000)):
                conn.execute(LLMAttempt.__table__.insert().values(
                    run_id=run, role="critic", model="m", status=status, est_tokens=est,
                    est_cost_usd=est / 1000, created_at=now,
                ))
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        totals = store.budget_totals(run)
        assert (totals.spent_tokens, totals.unseen_tokens, totals.reserved_tokens) == (76, 120, 0)
        assert totals.spent_usd == pytest.approx(0.5)
        assert totals.unseen_usd == pytest.approx(0.12)
        assert store.reconcile_budget(run) == totals


def test_downgrading_0008_drops_only_the_totals(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="r" * 64, config={})
    store.record_call(run_id=run.id, role="critic", model="m", input_tokens=3)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0007")
        assert "run_budgets" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT input_tokens FROM llm_calls")).scalars().all() == [3]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0008")
    assert store.budget_totals(run.id).spent_tokens == 3
