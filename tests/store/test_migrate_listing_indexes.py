"""Revision 0010: lookup indexes, and `artifacts.preview` filled in for existing artifacts."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import Artifact
from autoalign.store._store import make_engine

NEW_INDEXES = {
    "artifacts": "ix_artifacts_stage",
    "flaws": "ix_flaws_found_by_id",
    "judgments": "ix_judgments_judge_artifact_id",
    "review_requests": "ix_review_requests_status",
    "review_labels": "ix_review_labels_reviewer",
}


def _indexes(conn: object, table: str) -> set[str]:
    return {str(ix["name"]) for ix in inspect(conn).get_indexes(table)}


def test_upgrading_from_0009_previews_existing_artifacts(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0009")
            assert "preview" not in {c["name"] for c in inspect(conn).get_columns("artifacts")}
            assert "ix_flaws_found_by_id" not in _indexes(conn, "flaws")
        now = datetime.now(UTC)
        columns = Artifact.__table__.c
        with engine.begin() as conn:
            long_id, short_id = (
                conn.execute(Artifact.__table__.insert().values(
                    kind="note", stage="test", initial_status="ok", content_text=body,
                    created_at=now,
                ).returning(columns.id)).scalar_one()
                for body in ("ü" * 300, "short")
            )
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        previews = {s.id: s.preview for s in store.artifact_summaries()}
        assert previews == {long_id: "ü" * 200, short_id: "short"}
        with store.engine.connect() as conn:
            for table, index in NEW_INDEXES.items():
                assert index in _indexes(conn, table), table


def test_downgrading_0010_drops_only_its_indexes_and_column(store: Store) -> None:
    store.add_artifact(run_id=None, kind="note", stage="test", content_text="kept")
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0009")
        assert "preview" not in {c["name"] for c in inspect(conn).get_columns("artifacts")}
        for table, index in NEW_INDEXES.items():
            assert index not in _indexes(conn, table), table
        assert "ix_artifacts_kind" in _indexes(conn, "artifacts")
        parent = [ix["column_names"] for ix in inspect(conn).get_indexes("provenance_edges")
                  if ix["name"] == "ix_provenance_edges_parent"]
        assert parent == [["parent_id"]]
        assert conn.execute(text("SELECT content_text FROM artifacts")).scalars().all() == [
            "kept"
        ]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0010")
    assert [s.preview for s in store.artifact_summaries()] == ["kept"]
