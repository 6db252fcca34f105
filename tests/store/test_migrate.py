"""Migrations: the real Alembic revisions against real SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text

from autoalign.errors import SchemaVersionError
from autoalign.store import Store
from autoalign.store._migrate import (
    MIGRATIONS_DIR,
    check_not_newer,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from autoalign.store._schema import Base
from autoalign.store._store import make_engine


def test_head_is_the_latest_revision_shipped_in_the_package() -> None:
    assert head_revision() == "0021"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()


def test_the_newest_revision_file_is_alembic_s_head_of_one_numbered_chain() -> None:
    # Opening a database at head compares its version row with the newest file's name alone,
    # without Alembic; that holds only while the revisions are one chain numbered in order.
    from alembic.script import ScriptDirectory

    from autoalign.store._migrate import alembic_config, newest_file_revision

    script = ScriptDirectory.from_config(alembic_config())
    chain = [s.revision for s in reversed(list(script.walk_revisions()))]
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    assert [script.get_revision(r).down_revision for r in chain] == [None, *chain[:-1]]
    assert newest_file_revision() == script.get_current_head() == head_revision()


def test_the_version_row_is_read_as_alembic_reads_it(db_url: str) -> None:
    from autoalign.store._migrate import _current_heads

    engine = make_engine(db_url)
    try:
        for migrated in (False, True):
            if migrated:
                upgrade_to_head(engine)
            with engine.connect() as conn:
                ours = _current_heads(conn)
                assert ours == MigrationContext.configure(conn).get_current_heads()
            assert ours == ((head_revision(),) if migrated else ())
    finally:
        engine.dispose()


def test_opening_a_database_at_head_does_not_import_alembic(store: Store) -> None:
    # Importing Alembic and reading every revision file cost every command that opens the
    # database about a third of a second (docs/scaling.md); at head neither is needed.
    url = store.engine.url.render_as_string(hide_password=False)
    probe = (
        "import sys\n"
        "from autoalign.store import Store\n"
        f"Store.open({url!r}, create=False).close()\n"
        f"Store.open({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.strip() == "[]"


def test_migrations_create_every_table_and_record_head(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert current_revision(store.engine) == head_revision()


def test_migrations_match_the_models_exactly(store: Store) -> None:
    """Autogenerate finds nothing to do: the revisions build what `_schema.py` declares."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_fresh_database_has_no_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        check_not_newer(engine)  # nothing to refuse
    finally:
        engine.dispose()


def test_reopening_at_head_changes_nothing(db_url: str) -> None:
    with Store.open(db_url) as first:
        run = first.create_run(name="r", agenda_digest="d" * 64, config={"a": 1})

    engine = make_engine(db_url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    try:
        upgrade_to_head(engine)
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    writes = [
        s
        for s in statements
        if s.split()[0].upper() in {"CREATE", "ALTER", "INSERT", "UPDATE", "DELETE", "DROP"}
    ]
    assert writes == []
    with Store.open(db_url) as again:
        assert again.get_run(run.id).name == "r"
        assert current_revision(again.engine) == head_revision()


def test_concurrent_openers_migrate_once(db_url: str) -> None:
    """Several processes opening a new database at once all succeed; one of them migrates."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            Store.open(db_url).close()
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def _stamp(db_url: str, revision: str) -> None:
    with Store.open(db_url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})


@pytest.mark.parametrize("migrate", [True, False])
def test_a_newer_database_is_refused(db_url: str, migrate: bool) -> None:
    _stamp(db_url, "0999")
    with pytest.raises(SchemaVersionError) as info:
        Store.open(db_url, migrate=migrate)
    message = str(info.value)
    assert "0999" in message
    assert head_revision() in message
    assert "newer than this autoalign" in message
    assert "upgrade autoalign" in message


def test_refusal_masks_the_password(db_url: str) -> None:
    _stamp(db_url, "0999")
    engine = make_engine(db_url)
    try:
        with pytest.raises(SchemaVersionError) as info:
            check_not_newer(engine)
    finally:
        engine.dispose()
    password = engine.url.password
    if password:
        assert f":{password}@" not in str(info.value)
        assert ":***@" in str(info.value)


def test_refused_database_is_left_untouched(db_url: str) -> None:
    _stamp(db_url, "0999")
    with pytest.raises(SchemaVersionError):
        Store.open(db_url)
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == "0999"
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_pragmas_are_on(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_json_columns_are_jsonb(store: Store) -> None:
    with store.engine.connect() as conn:
        types: dict[str, str] = dict(
            conn.execute(
                text(
                    "SELECT table_name || '.' || column_name, data_type "
                    "FROM information_schema.columns WHERE data_type LIKE 'json%'"
                )
            ).all()
        )
    assert types == {
        "runs.config": "jsonb",
        "artifacts.content_json": "jsonb",
        "llm_cache.request": "jsonb",
        "llm_cache.output": "jsonb",
        "work_items.payload": "jsonb",
        "work_items.result": "jsonb",
        "redteam_experiments.config": "jsonb",
        "redteam_trials.findings": "jsonb",
        "case_snapshots.content": "jsonb",
        "critic_versions.params": "jsonb",
        "critic_versions.evidence": "jsonb",
        "flaw_retrievals.hits": "jsonb",  # the flaw library (issue 14, part LB)
        # A/B tests of components.
        "ab_experiments.config": "jsonb",
        "ab_outcomes.findings": "jsonb",
    }
