"""Revision 0012: judgments name their model, a pairwise judgment's second item, and who
judged; judgments made before it keep their values and get their judge artifact's model."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import Artifact, Run
from autoalign.store._store import make_engine
from autoalign.vocabulary import JudgmentSource

NEW_COLUMNS = {"model", "other_artifact_id", "source", "reviewer"}


def test_upgrading_from_0011_keeps_judgments_and_backfills_their_model(db_url: str) -> None:
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0011")
            columns = {c["name"] for c in inspect(conn).get_columns("judgments")}
            assert not NEW_COLUMNS & columns
            run = conn.execute(Run.__table__.insert().values(
                name="old", agenda_digest="d" * 64, config={}, seed=0, status="completed",
                created_at=now, updated_at=now,
            )).inserted_primary_key[0]
            ids = []
            for kind, model in (("idea", None), ("idea_judgment", "openai:gpt-4o-mini")):
                ids.append(conn.execute(Artifact.__table__.insert().values(
                    run_id=run, kind=kind, stage="propose", model=model, content_text="x",
                    content_json={}, initial_status="ok", created_at=now,
                )).inserted_primary_key[0])
            conn.execute(text(
                "INSERT INTO judgments (artifact_id, judge_artifact_id, role, score, rationale, "
                "created_at) VALUES (:a, :j, 'judge', 7, 'good', :t)"
            ), {"a": ids[0], "j": ids[1], "t": now})
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        (old,) = store.judgments(artifact_id=ids[0])
        assert (old.score, old.rationale, old.judge_artifact_id) == (7.0, "good", ids[1])
        assert (old.model, old.source, old.other_artifact_id, old.reviewer) == (
            "openai:gpt-4o-mini", "model", None, None
        )
        human = store.add_judgment(
            artifact_id=ids[0], other_artifact_id=ids[1], role="judge", decision="first",
            source=JudgmentSource.HUMAN, reviewer="ada",
        )
        assert store.judgments(source=JudgmentSource.HUMAN) == [human]
        assert store.judgments(artifact_id=ids[1], source=JudgmentSource.HUMAN) == [human]


def test_downgrading_0012_drops_only_the_new_columns(store: Store) -> None:
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
        columns = {c["name"] for c in inspect(conn).get_columns("judgments")}
        assert not NEW_COLUMNS & columns and {"score", "decision", "rationale"} <= columns
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
        columns = {c["name"] for c in inspect(conn).get_columns("judgments")}
        assert columns >= NEW_COLUMNS
