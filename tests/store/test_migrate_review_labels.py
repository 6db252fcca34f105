"""Revision 0007: the `review_labels` table; review requests made before it keep their rows."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._schema import Artifact, ReviewRequest
from autoalign.store._store import make_engine
from autoalign.vocabulary import ReviewDecision, ReviewStatus


def test_upgrading_from_0006_keeps_requests_and_labels_them(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0006")
            assert "review_labels" not in inspect(conn).get_table_names()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            art = conn.execute(Artifact.__table__.insert().values(
                kind="paper", stage="writeup", initial_status="ok", content_text="",
                created_at=now,
            )).inserted_primary_key[0]
            request = conn.execute(ReviewRequest.__table__.insert().values(
                artifact_id=art, reason="old", status="open", created_at=now,
            )).inserted_primary_key[0]
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision() == "0008e"
        assert store.review_request(request).status == ReviewStatus.OPEN
        done = store.add_review_label(request_id=request, decision=ReviewDecision.DISMISS,
                                      reviewer="alice")
        assert store.review_labels() == [done.label]
        assert store.review_request(request).resolution == ReviewDecision.DISMISS


def test_downgrading_0007_drops_only_the_labels(store: Store) -> None:
    art = store.add_artifact(run_id=None, kind="paper", stage="writeup")
    request = store.add_review_request(artifact_id=art.id, reason="r")
    store.add_review_label(request_id=request, decision=ReviewDecision.UNSURE, reviewer="a")
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
        assert "review_labels" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT reason FROM review_requests")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0007")
        assert "review_labels" in inspect(conn).get_table_names()
