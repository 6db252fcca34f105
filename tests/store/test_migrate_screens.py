"""Revision 0013: the `information_screens` and `screen_refusals` tables; older rows stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine
from autoalign.vocabulary import Kind, Stage

TABLES = {"information_screens", "screen_refusals"}


def test_upgrading_from_0011_adds_the_screen_tables_and_keeps_artifacts(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0011")
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        run = store.create_run(name="r", agenda_digest="d" * 64, config={})
        a, b, s = (store.add_artifact(run_id=run.id, kind=Kind.PROPOSAL, stage=Stage.PROPOSE).id
                   for _ in range(3))
        screen = store.add_screen(run_id=run.id, artifact_id=s, project_a=a, project_b=b,
                                  question="q", reason="r")
        store.add_screen_refusal(screen_id=screen.id, reader_id=a, artifact_id=b, via="history")
        assert [r.via for r in store.screen_refusals(screen_id=screen.id)] == ["history"]


def test_downgrading_0013_drops_only_the_screen_tables(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0012")
        assert not TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0013")
        assert set(inspect(conn).get_table_names()) >= TABLES
