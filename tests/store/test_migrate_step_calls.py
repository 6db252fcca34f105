"""Revision 0009: the `step_calls` table; artifacts made before it keep their rows."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import CallWait, Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import Artifact
from autoalign.store._store import make_engine
from autoalign.vocabulary import Kind, Stage


def test_upgrading_from_0008_keeps_artifacts_and_records_calls(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0008")
            assert "step_calls" not in inspect(conn).get_table_names()
            old = conn.execute(Artifact.__table__.insert().values(
                kind="idea", stage="propose", initial_status="ok", content_text="old",
                created_at=datetime.now(UTC),
            )).inserted_primary_key[0]
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT content_text FROM artifacts")).scalars().all() == [
                "old"
            ]
        new = store.add_artifact(
            run_id=None, kind=Kind.IDEA, stage=Stage.PROPOSE, parents=[old],
            calls=[CallWait(call_key="k#0"), CallWait(call_key="k#1", after=("k#0",))],
        )
        with store.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT artifact_id, call_key, after_key FROM step_calls ORDER BY id"
            )).all()
        assert [tuple(r) for r in rows] == [(new.id, "k#0", None), (new.id, "k#1", "k#0")]


def test_downgrading_0009_drops_only_the_step_calls(store: Store) -> None:
    art = store.add_artifact(
        run_id=None, kind=Kind.IDEA, stage=Stage.PROPOSE, calls=[CallWait(call_key="k")]
    )
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0008")
        assert "step_calls" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT id FROM artifacts")).scalars().all() == [art.id]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0009")
        assert "step_calls" in inspect(conn).get_table_names()
