"""Revision 0016: the safety-case tables (`case_registrations`, `case_snapshots`); older rows
stay, and snapshots are only ever added."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine

TABLES = {"case_registrations", "case_snapshots"}


def test_upgrading_from_0015_adds_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0015")
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        first = store.register_case(name="a", path="/cases/a.yaml", redteam_report="/r.json")
        again = store.register_case(name="a", path="/cases/a2.yaml", redteam_experiment="e1")
        assert again.id == first.id and again.path == "/cases/a2.yaml"
        assert again.redteam_report is None and again.redteam_experiment == "e1"
        when = datetime(2026, 1, 1, tzinfo=UTC)
        one = store.add_case_snapshot(case_name="a", digest="d" * 64, evaluated_at=when,
                                      content={"nodes": {"G1": {"status": "supported"}}})
        store.add_case_snapshot(case_name="b", digest="e" * 64, evaluated_at=when, content={})
        assert [s.id for s in store.case_snapshots(case_name="a")] == [one.id]
        assert store.case_snapshot(one.id).content == {"nodes": {"G1": {"status": "supported"}}}
        assert store.case_snapshot(one.id).evaluated_at == when
        assert [r.name for r in store.registered_cases()] == ["a"]


def test_downgrading_0016_drops_only_the_tables(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0015")
        assert not TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0016")
        assert set(inspect(conn).get_table_names()) >= TABLES
