"""Revision 0002 adds the question link to a 0001 database that already holds claims."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import MetaData, insert, inspect, select

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine
from autoalign.vocabulary import ClaimSource

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _database_at_0001_with_a_claim(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
        with engine.begin() as conn:
            tables = MetaData()
            tables.reflect(conn)
            artifact_id = conn.execute(
                insert(tables.tables["artifacts"]).values(
                    kind="paper", stage="writeup", content_text="", initial_status="ok",
                    created_at=NOW,
                ).returning(tables.tables["artifacts"].c.id)
            ).scalar_one()
            conn.execute(
                insert(tables.tables["claims"]).values(
                    artifact_id=artifact_id, text="old claim", effect=0.3, ci_low=0.1,
                    ci_high=0.5, probability=0.75, created_at=NOW,
                )
            )
        assert current_revision(engine) == "0001"
    finally:
        engine.dispose()


def test_0002_keeps_existing_claims_and_adds_the_link(db_url: str) -> None:
    _database_at_0001_with_a_claim(db_url)

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        (old,) = store.claims()
        assert (old.text, old.effect, old.ci_low, old.ci_high, old.probability) == (
            "old claim", 0.3, 0.1, 0.5, 0.75
        )
        assert (old.testbed, old.question_id) == (None, None)
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes(
            "claims")}
        assert indexes["ix_claims_testbed_question"] == ["testbed", "question_id"]

        paper = store.add_artifact(run_id=None, kind="paper", stage="writeup")
        store.add_claims(artifact_id=paper.id, items=[
            {"text": "new", "testbed": "reward_hacking", "question_id": "q", "probability": 0.6}
        ], source=ClaimSource.PIPELINE)
        assert [c.testbed for c in store.claims()] == [None, "reward_hacking"]


def test_0002_downgrades_to_0001_keeping_the_claims(db_url: str) -> None:
    _database_at_0001_with_a_claim(db_url)
    Store.open(db_url).close()

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        assert current_revision(engine) == "0001"
        with engine.connect() as conn:
            tables = MetaData()
            tables.reflect(conn)
            claims = tables.tables["claims"]
            assert "testbed" not in claims.c
            assert conn.execute(select(claims.c.text, claims.c.probability)).all() == [
                ("old claim", 0.75)
            ]
    finally:
        engine.dispose()
