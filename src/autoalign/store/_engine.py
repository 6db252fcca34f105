"""Engines for the research database: the URL to use, and SQLite set up for concurrent use."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

DEFAULT_DB_PATH = Path(".autoalign") / "research.db"
DB_ENV_VAR = "AUTOALIGN_DB"


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else `$AUTOALIGN_DB`, else the SQLite default."""
    if url:
        return url
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return env
    return f"sqlite:///{DEFAULT_DB_PATH}"


def _enable_wal(cursor: Any, *, timeout_s: float = 30.0) -> None:
    """Switch the file to WAL (the mode persists in the file).

    Switching needs the file to itself, and SQLite answers "locked" at once, without waiting out
    the busy timeout, while another connection is opening a new database too; so retry a while.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def make_engine(url: str) -> Engine:
    """An engine with SQLite set up for concurrent readers: WAL, foreign keys, a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            _enable_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
