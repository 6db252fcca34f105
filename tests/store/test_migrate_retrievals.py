"""Revision 0021: the `flaw_retrievals` table; older rows stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import RetrievedFlaw, Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine

TABLES = {"flaw_retrievals"}


def test_upgrading_from_0020_adds_the_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0020")
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        run = store.create_run(name="r", agenda_digest="d" * 64, config={})
        hit = RetrievedFlaw(entry="flaw:1", score=0.5, text="overclaiming (minor): Too broad.")
        first = store.add_flaw_retrieval(
            run_id=run.id, step_key="k", role="c2.investigate", library_version="c2@1",
            embedder="tfidf", query="q", hits=[hit])
        again = store.add_flaw_retrieval(
            run_id=run.id, step_key="k", role="c2.investigate", library_version="c2@2",
            embedder="tfidf", query="other", hits=[])
        assert again == first and first.hits == (hit,)
        assert store.flaw_retrievals(run_id=run.id) == [first]


def test_downgrading_0021_drops_only_the_table(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0020")
        assert not TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0021")
        assert set(inspect(conn).get_table_names()) >= TABLES
