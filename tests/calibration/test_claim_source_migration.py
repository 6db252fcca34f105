"""Revision 0006 records each claim's source and backfills the claims a database already holds."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import MetaData, insert, inspect, select

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine
from autoalign.vocabulary import ClaimSource

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _database_at_0005_with_claims(db_url: str) -> dict[str, int]:
    """A study claim, a paper claim and an agent's claim, written with 0005's columns only;
    returns each one's artifact id by name."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0005")
        artifacts: dict[str, int] = {}
        with engine.begin() as conn:
            tables = MetaData()
            tables.reflect(conn)
            arts, claims = tables.tables["artifacts"], tables.tables["claims"]
            for name, kind, stage, role, model in (
                # `autoalign study`: an experiment claim with neither role nor model.
                ("study", "experiment_claim", "execute", None, None),
                # A paper's claims: the paper is recorded without a role too.
                ("paper", "paper", "writeup", None, None),
                # An agent's claim: the worker's experiment claim names role and model.
                ("agent", "experiment_claim", "execute", "worker", "local:gemma-3-270m"),
            ):
                art = conn.execute(
                    insert(arts).values(
                        kind=kind, stage=stage, role=role, model=model, content_text="",
                        initial_status="ok", created_at=NOW,
                    ).returning(arts.c.id)
                ).scalar_one()
                artifacts[name] = art
                conn.execute(
                    insert(claims).values(
                        artifact_id=art, text=name, probability=0.6, testbed="reward_hacking",
                        question_id="q", created_at=NOW,
                    )
                )
        assert current_revision(engine) == "0005"
    finally:
        engine.dispose()
    return artifacts


def test_0006_backfills_study_claims_by_their_role_less_experiment_claim(db_url: str) -> None:
    arts = _database_at_0005_with_claims(db_url)

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision() == "0008e"
        got = {c.text: (c.artifact_id, c.source, c.model) for c in store.claims()}
        assert got == {
            "study": (arts["study"], ClaimSource.STUDY, None),
            "paper": (arts["paper"], ClaimSource.PIPELINE, None),
            "agent": (arts["agent"], ClaimSource.PIPELINE, "local:gemma-3-270m"),
        }
        [source] = [c for c in inspect(store.engine).get_columns("claims")
                    if c["name"] == "source"]
        assert source["nullable"] is False


def test_0006_downgrades_to_0005_keeping_the_claims(db_url: str) -> None:
    _database_at_0005_with_claims(db_url)
    Store.open(db_url).close()

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0005")
        assert current_revision(engine) == "0005"
        with engine.connect() as conn:
            tables = MetaData()
            tables.reflect(conn)
            claims = tables.tables["claims"]
            assert "source" not in claims.c
            assert conn.execute(select(claims.c.text).order_by(claims.c.id)).scalars().all() == [
                "study", "paper", "agent"
            ]
    finally:
        engine.dispose()
