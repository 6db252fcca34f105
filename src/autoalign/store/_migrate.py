"""Alembic migrations of the research database, run from code.

There is no alembic.ini: the Alembic config is built here, with `script_location` pointing at the
`migrations` folder shipped inside the package and the open connection handed to `env.py` through
`config.attributes["connection"]`.

Upgrading is safe when several processes open the same database at once: a process that finds
the database behind head takes a database-wide lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
transaction-scoped advisory lock), reads the revision again and migrates inside that same
transaction, so the others, once they get the lock, find it at head and do nothing. Opening a
database already at head takes no lock at all, and does not import Alembic: the version row is
read with plain SQL and compared with the newest revision file (`<rev>_<slug>.py`, numbered in
order; a test holds that to Alembic's head). Alembic's import and its reading of every revision
file cost every command that opens the database about a third of a second on a slow machine
(`autoalign status`: 1.97 s with them, 1.64 s without; docs/scaling.md).

To draft a new revision after changing `_schema.py`, run
`python -c "from autoalign.store._migrate import draft_revision; draft_revision('add x')"`,
then read and tidy the file it writes under `migrations/versions/`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, inspect, text

from ..errors import SchemaVersionError, StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Key of the PostgreSQL advisory lock held while migrating: the bytes "autoalgn" read as an
# unsigned 64-bit number, shifted into the signed bigint range.
_PG_LOCK_KEY = int.from_bytes(b"autoalgn", "big") - 2**63


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations, bound to `connection` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Revision files are named `<rev>_<slug>.py`, revisions being 0001, 0002, ...
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The latest revision this autoalign knows."""
    head = _script().get_current_head()
    if head is None:  # only possible if the packaged migrations are missing
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}; reinstall autoalign")
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in _script().walk_revisions()}


def _current_heads(connection: Connection) -> tuple[str, ...]:
    """The revisions Alembic's version table holds, read with plain SQL (as Alembic reads
    them); none if the database was never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return ()
    return tuple(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def newest_file_revision() -> str | None:
    """The revision of the highest-numbered file under `versions/`, read from its name alone
    (no Alembic); None if there is none. Revisions form one numbered chain, so this is the
    head (tests/store/test_migrate.py holds it to Alembic's)."""
    names = sorted(
        p.name.partition("_")[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    )
    return names[-1] if names else None


def _stamped_at_newest(connection: Connection) -> bool:
    """Whether the database's version row, read with plain SQL, is the newest revision file:
    then it is at head and nothing about it is newer than this code."""
    newest = newest_file_revision()
    return newest is not None and _current_heads(connection) == (newest,)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        heads = _current_heads(connection)
    return heads[0] if heads else None


def _refuse_newer(connection: Connection) -> None:
    known = _known_revisions()
    unknown = [rev for rev in _current_heads(connection) if rev not in known]
    if unknown:
        url = connection.engine.url.render_as_string(hide_password=True)
        raise SchemaVersionError(
            f"the database {url} is at revision {', '.join(unknown)}, which is newer than this "
            f"autoalign (head {head_revision()}); upgrade autoalign (pip install -U autoalign) "
            "to use it"
        )


def _at_head(connection: Connection) -> bool:
    return set(_current_heads(connection)) == {head_revision()}


@contextmanager
def _migration_transaction(connection: Connection) -> Iterator[None]:
    """One transaction holding a lock that serialises migrating processes; commits on success."""
    dialect = connection.dialect.name
    if dialect != "sqlite":
        if dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield
        connection.commit()
        return
    # Batch migrations rebuild a table (copy, drop, rename), which enforced foreign keys turn
    # into errors or cascades; so they are off while migrating, checked before commit, and back
    # on before the pooled connection is used again. The pragma only applies outside a
    # transaction, hence before BEGIN.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        # pysqlite leaves DDL outside any transaction unless one is begun explicitly; IMMEDIATE
        # takes the write lock now, so a concurrent opener waits (busy timeout) instead of racing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise StoreError(
                f"migrating to {head_revision()} would break {len(broken)} foreign key(s), "
                f"first {tuple(broken[0])}; the database is unchanged, report this as a bug"
            )
        connection.commit()
    finally:
        connection.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the latest revision; a database already at head is left untouched.

    Raises:
        SchemaVersionError: the database is at a revision newer than this code knows.
    """
    with engine.connect() as connection:
        # The common case, already at head, is a plain read that takes no lock.
        if _stamped_at_newest(connection):
            return
        _refuse_newer(connection)
        if _at_head(connection):
            return
        connection.rollback()
        with _migration_transaction(connection):
            # Another process may have migrated while this one waited for the lock.
            _refuse_newer(connection)
            if not _at_head(connection):
                # env.py runs inside this transaction, so the upgrade and its version stamp
                # commit together or not at all.
                from alembic import command

                command.upgrade(alembic_config(connection), "head")


def check_not_newer(engine: Engine) -> None:
    """Raise SchemaVersionError if the database is at a revision this code does not know."""
    with engine.connect() as connection:
        if not _stamped_at_newest(connection):
            _refuse_newer(connection)


def draft_revision(message: str) -> Path:
    """Autogenerate a new revision from the difference between `_schema.py` and head.

    A development aid: the draft is compared against a scratch SQLite database, so review
    PostgreSQL-specific types by hand. Returns the path of the new file.
    """
    from alembic import command

    next_rev = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/draft.db")
        try:
            upgrade_to_head(engine)
            with engine.begin() as connection:
                script = command.revision(
                    alembic_config(connection), message, autogenerate=True, rev_id=next_rev
                )
        finally:
            engine.dispose()
    _script.cache_clear()
    if script is None or isinstance(script, list):
        raise StoreError(f"alembic did not write a single revision for {message!r}")
    return Path(script.path)
