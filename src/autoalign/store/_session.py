"""The base of the `Store`: one engine, read sessions, one serialised write path, and write
transactions locked across processes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from ..errors import StoreError
from ._driver import DriverConnection
from ._engine import sqlite_file

HotConnection = Connection | DriverConnection
"""What `_read_conn` and `_write_conn` give: the SQLite driver path or an engine connection."""


def _advisory_key(name: str) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for `name`."""
    return int.from_bytes(hashlib.sha256(b"autoalign-run:" + name.encode()).digest()[:8], "big",
                          signed=True)


class _Held(NamedTuple):
    """The driver path's connections, checked out of the pool by process `pid`."""

    pid: int
    write: DriverConnection
    read: DriverConnection
    fairies: list[Any]


def _sqlite(connection: Any) -> sqlite3.Connection:
    if not isinstance(connection, sqlite3.Connection):
        raise TypeError(f"expected a sqlite3 connection, got {type(connection).__name__}")
    return connection


class StoreBase:
    """Sessions over one engine. Writes are serialised through one lock (SQLite allows one
    writer; the lock keeps async fan-out from fighting over it). On a SQLite file the hot path
    (`_read_conn`, `_write_conn`) runs on two held connections instead (`_driver.py`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._driver_path = sqlite_file(engine.url) is not None
        self._held: _Held | None = None

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

    def _driver(self) -> tuple[DriverConnection, DriverConnection]:
        """The held (write, read) connections of a SQLite file, checked out of the pool on
        first use in this process (`_driver.py`)."""
        held = self._held
        if held is None or held.pid != os.getpid():
            with self._write_lock, self._read_lock:
                held = self._held
                if held is None or held.pid != os.getpid():
                    # A forked child leaves its parent's connections alone (unclosed).
                    fairies = [self.engine.raw_connection() for _ in range(2)]
                    write, read = (DriverConnection(self.engine, _sqlite(fairy.driver_connection))
                                   for fairy in fairies)
                    held = self._held = _Held(os.getpid(), write, read, fairies)
        return held.write, held.read

    def _release_driver(self) -> None:
        """Give the held connections back to the pool (before the engine is disposed)."""
        held, self._held = self._held, None
        if held is not None and held.pid == os.getpid():
            for fairy in held.fairies:
                fairy.close()

    @contextmanager
    def _read_conn(self) -> Iterator[HotConnection]:
        """A connection for a hot-path read by a prebuilt Core statement (no ORM): on a SQLite
        file, the held read connection on the driver path."""
        if self._driver_path:
            _write, read = self._driver()
            with self._read_lock:
                try:
                    yield read
                finally:
                    if read.dbapi.in_transaction:
                        # A write here would begin a transaction that nothing commits, and hold
                        # the file's write lock against every other writer.
                        read.rollback()
                        raise StoreError("a write was sent on the read connection; use "
                                         "`_write_conn`")
            return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write_conn(self) -> Iterator[HotConnection]:
        """A write transaction through the one write lock, for the hot-path writes of every
        model call by prebuilt Core statements (no ORM session): on a SQLite file, on the held
        write connection on the driver path."""
        if self._driver_path:
            write, _read = self._driver()
            with self._write_lock:
                write.begin()
                try:
                    yield write
                    write.commit()
                except BaseException:
                    write.rollback()
                    raise
            return
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
