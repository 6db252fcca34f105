"""The base of the `Store`: one engine, read sessions, and one serialised write path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


class StoreBase:
    """Sessions over one engine. Writes are serialised through one lock (SQLite allows one
    writer; the lock keeps async fan-out from fighting over it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_lock = threading.Lock()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._write_lock, self._sessions() as session, session.begin():
            yield session
