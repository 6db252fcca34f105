"""Revision 0005: flaws record the critic that found them; older flaws keep their values."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import Artifact, Flaw
from autoalign.store._store import make_engine


def test_upgrading_from_0004_keeps_flaws_and_leaves_their_critic_empty(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0004")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            # Core inserts that name only 0004's columns, with the real column types.
            inserted = conn.execute(Artifact.__table__.insert().values(
                kind="paper", stage="writeup", initial_status="ok", content_text="",
                created_at=now,
            ))
            art_id = inserted.inserted_primary_key[0]
            conn.execute(Flaw.__table__.insert().values(
                artifact_id=art_id, category="overclaiming", severity="major",
                description="old", created_at=now,
            ))
        assert current_revision(engine) == "0004"
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision() == "0008e"
        [flaw] = store.flaws(artifact_id=art_id)
        assert (flaw.description, flaw.critic, flaw.critic_version) == ("old", None, None)
        new = store.add_flaw(artifact_id=art_id, category="other", severity="minor",
                             description="new", critic="c1.numbers-match", critic_version="1")
        assert store.flaws(critic="c1.numbers-match") == [new]


def test_downgrading_0005_drops_only_its_columns(store: Store) -> None:
    art = store.add_artifact(run_id=None, kind="paper", stage="writeup")
    store.add_flaw(artifact_id=art.id, category="other", severity="minor", description="d",
                   critic="c1.x", critic_version="1")
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
        columns = {c["name"] for c in inspect(conn).get_columns("flaws")}
        assert "critic" not in columns and "critic_version" not in columns
        assert {"category", "severity", "description"} <= columns
        assert conn.execute(text("SELECT description FROM flaws")).scalars().all() == ["d"]
