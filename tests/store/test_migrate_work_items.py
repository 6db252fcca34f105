"""Revision 0011: the `work_items` table; runs made before it keep their rows and can be queued."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import Run
from autoalign.store._store import make_engine
from autoalign.vocabulary import WorkKind, WorkState


def test_upgrading_from_0010_keeps_runs_and_queues_work(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0010")
            assert "work_items" not in inspect(conn).get_table_names()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            run = conn.execute(Run.__table__.insert().values(
                name="old", agenda_digest="d" * 64, config={}, seed=0, status="stopped",
                created_at=now, updated_at=now,
            )).inserted_primary_key[0]
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        assert store.get_run(run).name == "old"
        item = store.enqueue_work(kind=WorkKind.PROJECT, key=str(run), run_id=run, payload={})
        claimed = store.claim_work(owner="w", kinds=[WorkKind.PROJECT], lease_s=60)
        assert claimed is not None and claimed.id == item.id
        assert claimed.state == WorkState.CLAIMED and claimed.run_id == run


def test_downgrading_0011_drops_only_the_queue(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    store.enqueue_work(kind=WorkKind.SANDBOX, key="k", payload={"a": 1}, run_id=run.id)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
        assert "work_items" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0011")
        assert "work_items" in inspect(conn).get_table_names()
