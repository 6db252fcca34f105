"""Revision 0020: the `erasures` table; older rows stay, and an erasure only rewrites an
artifact's content columns."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine
from autoalign.vocabulary import ErasureOutcome, ErasureRefusal, Kind, Stage


def test_upgrading_from_0019_adds_the_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0019")
            assert "erasures" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        art = store.add_artifact(run_id=None, kind=Kind.STEP_LOG, stage=Stage.EXECUTE,
                                 content_json={"rows": []})
        from autoalign.store import RefusalWrite

        batch = store.erase_artifacts(policy="p", policy_digest="0" * 64, refusals=[
            RefusalWrite(artifact_id=art.id, reason=ErasureRefusal.OPEN_REVIEW, detail="d")])
        assert [r.outcome for r in batch.refused] == [ErasureOutcome.REFUSED]
        assert [r.artifact_id for r in store.erasures()] == [art.id]
        indexes = {i["name"] for i in inspect(store.engine).get_indexes("erasures")}
        assert "ix_erasures_artifact" in indexes


def test_downgrading_0020_drops_only_the_table(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0019")
        assert "erasures" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0020")
        assert "erasures" in inspect(conn).get_table_names()
