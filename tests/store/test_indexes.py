"""Every column a Store lookup filters on is indexed, and SQLite's plan searches the index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, inspect

from autoalign.store import Store

INDEXED = [
    ("judgments", "ix_judgments_judge_artifact_id", ["judge_artifact_id"]),
    ("flaws", "ix_flaws_found_by_id", ["found_by_id"]),
    ("flaws", "ix_flaws_critic", ["critic", "critic_version"]),
    ("artifacts", "ix_artifacts_stage", ["stage"]),
    ("review_requests", "ix_review_requests_status", ["status"]),
    ("review_labels", "ix_review_labels_reviewer", ["reviewer"]),
    ("provenance_edges", "ix_provenance_edges_parent", ["parent_id", "child_id"]),
]


@pytest.mark.parametrize(("table", "name", "columns"), INDEXED)
def test_the_lookup_columns_are_indexed(
    store: Store, table: str, name: str, columns: list[str]
) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes(table)}
    assert indexes.get(name) == columns, indexes


def _fill(store: Store) -> tuple[int, int]:
    """A few artifacts, judgments and flaws; returns (judge reply, critic report) ids."""
    target = store.add_artifact(run_id=None, kind="paper", stage="writeup").id
    judge = store.add_artifact(run_id=None, kind="note", stage="writeup").id
    report = store.add_artifact(run_id=None, kind="note", stage="writeup").id
    for i in range(20):
        store.add_judgment(artifact_id=target, role="judge", score=float(i),
                           judge_artifact_id=judge if i % 5 == 0 else None)
        store.add_flaw(artifact_id=target, category="other", severity="minor",
                       description=str(i), found_by_id=report if i % 5 == 0 else None,
                       critic="c1.x" if i % 2 else None, critic_version="1" if i % 2 else None)
    return judge, report


def _plan_of(store: Store, lookup: Callable[[], object]) -> list[str]:
    """SQLite's query plan for the first SELECT that `lookup` runs through the Store."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        lookup()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    sql, parameters = statements[0]
    with store.engine.connect() as conn:
        cursor = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            f"EXPLAIN QUERY PLAN {sql}", parameters
        )
        return [row[-1] for row in cursor.fetchall()]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_judgment_and_flaw_lookups_search_their_index(store: Store) -> None:
    judge, report = _fill(store)
    assert len(store.judgments(judge_artifact_id=judge)) == 4
    assert len(store.flaws(found_by_id=report)) == 4
    cases = {
        "ix_judgments_judge_artifact_id": lambda: store.judgments(judge_artifact_id=judge),
        "ix_flaws_found_by_id": lambda: store.flaws(found_by_id=report),
        "ix_flaws_critic": lambda: store.flaws(critic="c1.x", critic_version="1"),
        "ix_artifacts_stage": lambda: store.artifact_summaries(stage="writeup"),
        "ix_review_requests_status": lambda: store.count_review_requests(),
    }
    for index, lookup in cases.items():
        plan = _plan_of(store, lookup)
        assert any(step.startswith("SEARCH") and index in step for step in plan), (index, plan)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("walk", ["descendants", "ancestors"])
def test_walks_read_covering_indexes_only(store: Store, walk: str) -> None:
    """Each step of a walk, either way, is answered by an index without reading the table."""
    top = store.add_artifact(run_id=None, kind="note", stage="test").id
    store.add_artifact(run_id=None, kind="note", stage="test", parents=[top])
    plan = _plan_of(store, lambda: getattr(store, walk)(top))
    edge_steps = [step for step in plan if "provenance_edges" in step]
    assert edge_steps and all("COVERING INDEX" in step for step in edge_steps), plan
