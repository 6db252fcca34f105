"""Revision 0014: the `redteam_organism_flaws` table (the organisms' ground truth); older rows
stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine
from autoalign.vocabulary import Kind, Stage

TABLE = "redteam_organism_flaws"


def test_upgrading_from_0013_adds_the_table_and_its_rows_resolve(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0013")
            assert TABLE not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        run = store.create_run(name="r", agenda_digest="d" * 64, config={})
        store.add_organism_flaw(run_id=run.id, organism="o", flaw_type="invented_number",
                                step_key="execute/step/0.0/report", field="summary",
                                detail="stated 0.1234")
        # Recorded once per run, step, type and field (a retried ask adds nothing).
        store.add_organism_flaw(run_id=run.id, organism="o", flaw_type="invented_number",
                                step_key="execute/step/0.0/report", field="summary",
                                detail="again")
        (row,) = store.organism_flaws(run_id=run.id)
        assert row.artifact_id is None and row.detail == "stated 0.1234"
        assert store.resolve_organism_flaws(run.id) == 0  # the step is not stored yet
        art = store.add_artifact(run_id=run.id, kind=Kind.STEP_REPORT, stage=Stage.EXECUTE,
                                 step_key="execute/step/0.0/report")
        assert store.resolve_organism_flaws(run.id) == 1
        assert [r.artifact_id for r in store.organism_flaws()] == [art.id]


def test_downgrading_0014_drops_only_the_table(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0013")
        assert TABLE not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0014")
        assert TABLE in inspect(conn).get_table_names()
