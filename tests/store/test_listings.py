"""Listings (`run_summaries`, `artifact_summaries`, `count_artifacts`) read no content."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from autoalign.store import Store
from autoalign.store._schema import PREVIEW_CHARS, Artifact
from autoalign.vocabulary import Status

CONTENT_COLUMNS = ("content_text", "content_json", "config")
"""Columns a listing must never select: artifacts' content and runs' agendas."""


@contextmanager
def selects(engine: Engine) -> Iterator[list[str]]:
    """The SQL of every SELECT `engine` runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _fill(store: Store) -> list[int]:
    run = store.create_run(name="r", agenda_digest="d", config={"agenda": "x" * 1000}).id
    ids = [
        store.add_artifact(run_id=run, kind="idea", stage="propose", content_text="first idea\n"
                           "second line", step_key="idea/0").id,
        store.add_artifact(run_id=run, kind="proposal", stage="propose", title="A title",
                           content_text="body", step_key="proposal/0").id,
        store.add_artifact(run_id=None, kind="note", stage="test", content_text="é" * 500).id,
        store.add_artifact(run_id=run, kind="paper", stage="writeup", content_json={"a": 1},
                           step_key="paper").id,
    ]
    store.set_status(ids[1], Status.SELECTED, reason="picked")
    return ids


def test_artifact_summaries_match_the_full_records(store: Store) -> None:
    ids = _fill(store)
    full = store.artifacts()
    summaries = store.artifact_summaries()
    assert [s.id for s in summaries] == [a.id for a in full] == ids
    for a, s in zip(full, summaries, strict=True):
        assert (s.run_id, s.kind, s.stage, s.role, s.model, s.step_key, s.title, s.status,
                s.created_at) == (a.run_id, a.kind, a.stage, a.role, a.model, a.step_key,
                                  a.title, a.status, a.created_at)
        assert s.preview == a.content_text[:PREVIEW_CHARS]
    assert summaries[1].status == Status.SELECTED
    assert len(summaries[2].preview) == PREVIEW_CHARS
    assert [s.id for s in store.artifact_summaries(kind="paper")] == [ids[3]]
    assert [s.id for s in store.artifact_summaries(stage="propose")] == ids[:2]
    assert [s.id for s in store.artifact_summaries(ids=[ids[2], ids[0]])] == [ids[0], ids[2]]
    run_id = summaries[0].run_id
    assert [s.id for s in store.artifact_summaries(run_id=run_id)] == [ids[0], ids[1], ids[3]]


def test_a_limit_keeps_the_most_recent_and_before_pages_back(store: Store) -> None:
    ids = _fill(store)
    assert [s.id for s in store.artifact_summaries(limit=2)] == ids[2:]
    assert [s.id for s in store.artifact_summaries(limit=2, before=ids[2])] == ids[:2]
    assert [s.id for s in store.artifact_summaries(limit=10)] == ids
    assert store.count_artifacts() == 4
    assert store.count_artifacts(before=ids[2]) == 2
    assert store.count_artifacts(stage="propose", kind="idea") == 1
    assert store.count_artifacts(run_id=424242) == 0


def test_run_summaries_match_the_runs(store: Store) -> None:
    _fill(store)
    [run] = store.list_runs()
    [summary] = store.run_summaries()
    assert (summary.id, summary.name, summary.status, summary.seed, summary.stop_reason,
            summary.created_at, summary.finished_at) == (
        run.id, run.name, run.status, run.seed, run.stop_reason, run.created_at,
        run.finished_at)


def test_rows_stored_without_a_preview_list_an_empty_one(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(Artifact), [{"kind": "note", "stage": "test", "initial_status": "ok",
                                         "content_text": "not previewed"}])
    [summary] = store.artifact_summaries()
    assert (summary.preview, summary.status) == ("", "ok")


def test_listings_never_select_content(store: Store) -> None:
    """Fails if a listing goes back to loading whole rows (which carry the content)."""
    ids = _fill(store)
    with selects(store.engine) as seen:
        store.run_summaries()
        store.artifact_summaries()
        store.artifact_summaries(kind="paper", limit=1)
        store.count_artifacts(stage="propose")
        store.artifact_counts()
    assert len(seen) >= 5
    leaked = [sql for sql in seen if any(col in sql for col in CONTENT_COLUMNS)]
    assert leaked == []
    # The recorder does see content when it is read.
    with selects(store.engine) as seen:
        store.artifact(ids[0])
        store.list_runs()
    assert any("content_text" in sql for sql in seen)
    assert any("config" in sql for sql in seen)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_recorder_sees_the_listing_queries(store: Store) -> None:
    with selects(store.engine) as seen:
        store.artifact_summaries()
    assert any("artifacts.preview" in sql for sql in seen), seen
