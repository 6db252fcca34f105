"""Engines for the research database: the URL to use, checked before anything is created, and
SQLite set up for concurrent use."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .._environment import DB_ENV_VAR, DEFAULT_DB_PATH
from .._text import CLIP_CHARS, clip
from ..errors import StoreError

NO_DATABASE_HINT = "run `autoalign init` or `autoalign run AGENDA` first, or pass --db URL"


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else `$AUTOALIGN_DB`, else the SQLite default.

    An empty `$AUTOALIGN_DB` counts as unset; an empty `url` argument is an error.

    Raises:
        StoreError: `url` is empty or blank.
    """
    if url is not None:
        if not url.strip():
            raise StoreError(
                "the database URL is empty; pass a SQLAlchemy URL such as "
                f"sqlite:///research.db to --db (or {DB_ENV_VAR}), or leave it out for "
                f"sqlite:///{DEFAULT_DB_PATH}"
            )
        return url
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return env
    return f"sqlite:///{DEFAULT_DB_PATH}"


def shown(text: str, *, limit: int = CLIP_CHARS) -> str:
    """`text` fit for a one-line message: control characters escaped, cut to `limit` characters
    (80 by default) with the full length given."""
    return clip(text, limit=limit)


def safe_url(url: str) -> str:
    """The URL with any password masked, fit for a one-line message."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        pass
    else:
        return shown(url if parsed.password is None else parsed.render_as_string())
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return shown(f"{scheme}://{user}:***@{host}")
    return shown(url)


def parse_url(url: str) -> URL:
    """Parse a database URL and check that its dialect and driver are installed.

    Raises:
        StoreError: the URL cannot be parsed, names an unknown dialect or a driver that is not
            installed, or is a SQLite URI filename.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"cannot parse the database URL {safe_url(url)!r}; pass a SQLAlchemy URL such as "
            "sqlite:///research.db or postgresql://user@localhost/autoalign"
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        dialect = parsed.get_dialect()
        dialect.import_dbapi()
    except NoSuchModuleError:
        raise StoreError(
            f"the database URL {safe_url(url)!r} names the unknown database kind "
            f"{shown(parsed.drivername)!r}; use sqlite:///PATH or postgresql://..."
        ) from None
    except ImportError as exc:
        raise StoreError(
            f"the driver for {shown(parsed.drivername)!r} ({exc.name or exc}) is not installed, "
            f"so {safe_url(url)!r} cannot be opened; install it (pip install ...) or use "
            "sqlite:///PATH or postgresql://..."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        query = {key.lower(): str(value).lower() for key, value in parsed.query.items()}
        if query.get("uri") in ("true", "1") or (parsed.database or "").startswith("file:"):
            raise StoreError(
                f"SQLite URI filenames are not supported ({safe_url(url)!r}); pass a plain "
                "path such as sqlite:///research.db"
            )
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _check_sqlite_file(path: Path, *, create: bool) -> None:
    """Refuse, before SQLite creates anything, a path that cannot hold the database."""
    if path.is_dir():
        raise StoreError(
            f"the database path {shown(str(path))} is a folder; pass the path of a file"
        )
    if path.exists():
        if not create and path.stat().st_size == 0:
            raise StoreError(f"no research database at {shown(str(path))} (the file is "
                             f"empty); {NO_DATABASE_HINT}")
        return
    if not create:
        raise StoreError(f"no research database at {shown(str(path))}; {NO_DATABASE_HINT}")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise StoreError(
            f"cannot create the database {shown(str(path))}: {shown(str(ancestor))} is a file, "
            "not a folder; pass another --db path"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {shown(str(path.parent))} for the database: "
            f"{exc.strerror or exc}; pass another --db path"
        ) from None


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


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for `url`, checked first; SQLite is set up for concurrent readers (WAL, foreign
    keys, a busy timeout).

    Args:
        url: SQLAlchemy URL of the database.
        create: make a missing SQLite file (and its folders); when False a missing file is an
            error and nothing is created.

    Raises:
        StoreError: the URL is malformed, its driver is missing, or a SQLite path cannot hold a
            database (its parent is a file, it is a folder, it is missing and `create` is off).
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            _check_sqlite_file(path, create=create)
        engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            _enable_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(parsed, pool_pre_ping=True)
