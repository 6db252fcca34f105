"""The hot path's statements on a SQLite file, run on the driver's connection (`_driver.py`)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.exc import NoResultFound

from autoalign.errors import DataError, StoreError
from autoalign.store import AttemptStatus, CacheRecord, Reservation, Store
from autoalign.store._driver import DriverConnection
from autoalign.store._schema import LLMAttempt

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
TABLES = ("llm_calls", "llm_attempts", "llm_cache", "run_budgets", "artifacts",
          "artifact_events", "provenance_edges", "step_calls")


def _open(tmp_path: Path, name: str) -> Store:
    return Store.open(f"sqlite:///{tmp_path / name}")


def _one_call_and_its_step(store: Store) -> None:
    """What a paid call and the step that awaited it write, with every kind of column."""
    run = store.create_run(name="r", agenda_digest="d" * 64, config={"seed": 1})
    store.reconcile_budget(run.id)
    reservation = Reservation(tokens=30, usd=0.25)
    assert store.reserve_budget(run.id, reservation, max_tokens=1000, max_usd=None).granted
    attempt = store.begin_attempt(
        run_id=run.id, role="ideator", model="m", step_key="s", cache_key="k" * 64,
        est_tokens=30, est_cost_usd=0.25, reserved=True,
    )
    store.record_call(
        run_id=run.id, role="ideator", model="m", step_key="s", cache_key="k" * 64,
        input_tokens=10, output_tokens=20, latency_s=0.5, cost_usd=None,
        answer=CacheRecord(key="k" * 64, model="m", request={"messages": ["é", 1, None]},
                           raw='{"a": 1}', output={"a": [1.5, True, None]}, error=None,
                           input_tokens=10, output_tokens=20),
        attempt_ids=[attempt], last_attempt=AttemptStatus.ANSWERED, reservation=reservation,
    )
    store.record_call(run_id=run.id, role="ideator", model="m", cache_key="k" * 64,
                      cache_hit=True)
    parent = store.add_artifact(run_id=run.id, kind="idea", stage="ideate", content_text="x")
    store.add_artifact(
        run_id=run.id, kind="plan", stage="plan", step_key="s", content_text="ünïcode",
        content_json={"n": 2, "list": [None, False]}, parents=[(parent.id, "context")],
    )


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def test_rows_written_on_the_driver_path_are_stored_as_sqlalchemy_stores_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in ("autoalign.store._ledger", "autoalign.store._store"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)
    driver, engine = _open(tmp_path, "driver.db"), _open(tmp_path, "engine.db")
    engine._driver_path = False  # the same store, through SQLAlchemy's connections
    try:
        _one_call_and_its_step(driver)
        _one_call_and_its_step(engine)
        assert driver._held is not None and engine._held is None
        # ...and read back through the ORM as the engine's rows are.
        assert driver.calls() == engine.calls()
        assert driver.attempts() == engine.attempts()
        assert driver.cache_get("k" * 64) == engine.cache_get("k" * 64)
        assert driver.artifacts() == engine.artifacts()
    finally:
        driver.close()
        engine.close()
    stored = _rows(tmp_path / "driver.db")
    assert stored == _rows(tmp_path / "engine.db")
    assert all(stored[table] for table in TABLES if table != "step_calls")


def test_the_hot_path_on_a_sqlite_file_checks_out_no_connection(tmp_path: Path) -> None:
    store = _open(tmp_path, "research.db")
    checkouts: list[object] = []
    event.listen(store.engine, "checkout", lambda *args: checkouts.append(args))
    try:
        _one_call_and_its_step(store)
        during = len(checkouts)
        store.cache_get("k" * 64)
        store.begin_attempt(run_id=1, role="r", model="m", step_key=None, cache_key=None,
                            est_tokens=1, est_cost_usd=None)
        store.record_call(run_id=1, role="r", model="m", cache_hit=True)
        store.artifact_by_step(1, "s")
        store.add_artifact(run_id=1, kind="idea", stage="ideate")
        assert len(checkouts) == during
        # The two held connections are checked out once, on first use.
        assert store.engine.pool.checkedout() == 2  # type: ignore[attr-defined]
    finally:
        pool = store.engine.pool
        store.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_listeners_on_the_engine_see_the_driver_paths_statements(tmp_path: Path) -> None:
    store = _open(tmp_path, "research.db")
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_: seen.append(statement))
    try:
        store.record_call(run_id=None, role="r", model="m")
        store.cache_get("nothing")
    finally:
        store.close()
    assert [" ".join(s.split()[:4]) for s in seen] == [
        "INSERT INTO llm_calls (run_id,",
        'SELECT llm_cache."key", llm_cache.model, llm_cache.raw,',
    ]


def test_the_held_connections_serve_every_thread(tmp_path: Path) -> None:
    store = _open(tmp_path, "research.db")
    try:
        store.record_call(run_id=None, role="r", model="m", cache_key="k",
                          answer=CacheRecord(key="k", model="m", raw="", output=1, error=None,
                                             input_tokens=0, output_tokens=0))
        found: list[Any] = []
        threads = [threading.Thread(target=lambda: found.append(store.cache_get("k")))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [record.output for record in found] == [1, 1, 1, 1]
    finally:
        store.close()


def test_an_in_list_given_at_execution_is_refused(tmp_path: Path) -> None:
    store = _open(tmp_path, "research.db")
    try:
        conn = DriverConnection(store.engine, sqlite3.connect(tmp_path / "research.db"))
        query = select(LLMAttempt.id).where(LLMAttempt.id.in_(bindparam("ids", expanding=True)))
        with pytest.raises(TypeError, match="through SQLAlchemy"):
            conn.execute(query, {"ids": [1, 2]})
        constant = select(LLMAttempt.id).where(LLMAttempt.status.in_(["pending", "lost"]))
        assert list(conn.execute(constant)) == []
        conn.dbapi.close()
    finally:
        store.close()


def test_a_refused_write_rolls_back_and_the_next_one_goes_through(tmp_path: Path) -> None:
    store = _open(tmp_path, "research.db")
    try:
        with pytest.raises(DataError, match="9999"):  # a driver IntegrityError, as SQLAlchemy's
            store.add_artifact(run_id=None, kind="plan", stage="plan", parents=[9999])
        write, _read = store._driver()
        assert not write.dbapi.in_transaction
        kept = store.add_artifact(run_id=None, kind="idea", stage="ideate")
        assert [a.id for a in store.artifacts()] == [kept.id]
        with pytest.raises(NoResultFound):
            write.execute(select(LLMAttempt.id).where(LLMAttempt.id == 1)).one()
    finally:
        store.close()


def test_a_write_on_the_read_connection_is_refused_and_rolled_back(tmp_path: Path) -> None:
    store = _open(tmp_path, "research.db")
    try:
        with pytest.raises(StoreError, match="read connection"), store._read_conn() as conn:
            conn.execute(update(LLMAttempt).values(error="x"))
        _write, read = store._driver()
        assert not read.dbapi.in_transaction
        store.record_call(run_id=None, role="r", model="m")  # the file's write lock is free
    finally:
        store.close()
