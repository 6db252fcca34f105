"""Revision 0018: the A/B tables (`ab_experiments`, `ab_outcomes`); older rows stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine

TABLES = {"ab_experiments", "ab_outcomes"}


def test_upgrading_from_0017_adds_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0017")
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        exp = store.start_ab_experiment(name="e", config={"a": 1}, config_digest="d" * 64,
                                        seed=3, tasks=2)
        assert store.add_ab_outcome(
            experiment_id=exp.id, task_key="t", task_index=0, task_seed=7, arm="A", position=1,
            flaw_type=None, critic="c@1", view="full", correct=True, flagged=False,
            detected=False, probability=None, severe=False, error=None, findings=[],
        )
        assert not store.add_ab_outcome(
            experiment_id=exp.id, task_key="t", task_index=0, task_seed=7, arm="A", position=1,
            flaw_type=None, critic="c@1", view="full", correct=False, flagged=True,
            detected=False, probability=None, severe=False, error=None, findings=[],
        )
        [row] = store.ab_outcomes(exp.id)
        assert (row.arm, row.position, row.correct, row.task_seed) == ("A", 1, True, 7)
        store.finish_ab_experiment(exp.id, status="stopped", stopped_after=1, stop_statistic=25.0)
        done = store.ab_experiment("e")
        assert (done.status, done.stopped_after, done.stop_statistic) == ("stopped", 1, 25.0)


def test_downgrading_0018_drops_only_the_tables(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0017")
        assert not TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0018")
        assert set(inspect(conn).get_table_names()) >= TABLES
