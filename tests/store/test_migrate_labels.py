"""Revision 0017: the `labels` and `critic_versions` tables; older rows stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine

TABLES = {"labels", "critic_versions"}


def test_upgrading_from_0016_adds_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0016")
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        assert store.labels() == [] and store.critic_versions() == []


def test_downgrading_0017_drops_only_the_tables(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0016")
        assert not TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0017")
        assert set(inspect(conn).get_table_names()) >= TABLES
