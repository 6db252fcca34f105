"""Revision 0015: the red-team tables; older rows stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine

TABLES = {"redteam_experiments", "redteam_injections", "redteam_trials"}


def test_upgrading_from_0013_adds_the_redteam_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0013")
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        exp = store.start_redteam_experiment(name="e", config={"a": 1}, config_digest="d" * 64,
                                             seed=0)
        store.add_redteam_injection(
            experiment_id=exp.id, subject_key="s", clean_key="c", flaw_type="swallowed-error",
            where="execution", method="programmatic", source_artifact_id=None, artifact_id=2,
            field="code.source", span_start=0, span_end=0, before="", after="x",
            description="d",
        )
        assert store.add_redteam_trial(
            experiment_id=exp.id, subject_key="s", critic="c1.code-integrity@1", detected=True,
            flagged=True, probability=None, severe=True, matcher="strict", findings=[],
        )
        assert not store.add_redteam_trial(  # unique per (experiment, subject, critic, matcher)
            experiment_id=exp.id, subject_key="s", critic="c1.code-integrity@1", detected=False,
            flagged=False, probability=None, severe=True, matcher="strict", findings=[],
        )
        assert [t.detected for t in store.redteam_trials(exp.id)] == [True]
        assert [i.field for i in store.redteam_injections(exp.id)] == ["code.source"]


def test_downgrading_0015_drops_only_the_redteam_tables(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    store.start_redteam_experiment(name="e", config={}, config_digest="d" * 64, seed=0)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0014")
        assert not TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0015")
        assert set(inspect(conn).get_table_names()) >= TABLES
