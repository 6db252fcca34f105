"""The base of the `Store`: one engine, read sessions, one serialised write path, and write
transactions locked across processes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker


def _advisory_key(name: str) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for `name`."""
    return int.from_bytes(hashlib.sha256(b"autoalign-run:" + name.encode()).digest()[:8], "big",
                          signed=True)


class StoreBase:
    """Sessions over one engine. Writes are serialised through one lock (SQLite allows one
    writer; the lock keeps async fan-out from fighting over it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_lock = threading.Lock()

    @property
    def local(self) -> bool:
        """SQLite: every read and write is a local file operation of microseconds (WAL reads
        never wait for a writer), not a round trip to a server."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._write_lock, self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _read_conn(self) -> Iterator[Connection]:
        """A plain connection for a hot-path read by a prebuilt Core statement (no ORM)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write_conn(self) -> Iterator[Connection]:
        """A write transaction on a plain connection, through the one write lock: for the
        hot-path writes of every model call, by prebuilt Core statements (no ORM session)."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _locked(self, name: str) -> Iterator[Session]:
        """A write transaction holding a lock that serialises every process locking `name`.

        SQLite takes the file's write lock at BEGIN (IMMEDIATE), so concurrent lockers wait
        (busy timeout) rather than read the same state and both act on it; PostgreSQL takes a
        transaction-scoped advisory lock on `name`'s key, released at commit or rollback.
        """
        with self._write_lock, self.engine.connect() as conn:
            dialect = conn.dialect.name
            if dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _advisory_key(name)})
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
                session.flush()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                session.close()
