"""The hot path's statements on SQLite, run on the driver's connection.

Every model call makes about ten ledger statements and every step a few more, each its own
short transaction. Through SQLAlchemy a SQLite transaction costs about 140 µs of Python before
SQLite does any work (a pool check-out and check-in, an execution context, a result), and on one
event loop that CPU is the run's. So on SQLite the `Store` holds two connections of its pool, one
for the serialised writes and one for reads, and runs its prebuilt Core statements on their
`sqlite3` cursors here.

SQLAlchemy still does everything that has to agree with the rest of the store: it compiles each
statement (once, for the engine's dialect), and each column type supplies its own conversions
(`TypeEngine.bind_processor` and `result_processor`: UTC timestamps, JSON, booleans) and Python
defaults. So a row written here reads back through the ORM exactly as one written there, and a
driver error becomes the same `sqlalchemy.exc.DBAPIError` subclass. Listeners on the engine's
`before_cursor_execute` event see these statements too (with `conn` and `context` None).

PostgreSQL is a round trip per statement, where SQLAlchemy's share is small: it keeps the
engine's connections.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Dialect, Engine
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement

Processor = Callable[[Any], Any] | None


class _Prepared:
    """A Core statement compiled once for one set of parameter names: its SQL, how to turn a
    parameter mapping into the driver's positional tuple, and how to read its rows."""

    def __init__(self, statement: ClauseElement, keys: Sequence[str], dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=list(keys)))
        sql, names = compiled.string, list(compiled.positiontup or [])
        binds = dict(compiled.binds)
        fixed: dict[str, Any] = {}
        if compiled.post_compile_params:
            # An IN list of constants (a status among several): render it into the SQL once.
            if any(bind.required for bind in compiled.post_compile_params):
                raise TypeError(
                    "the SQLite driver path runs prebuilt statements, whose IN lists are "
                    "constants; run this one through SQLAlchemy: " + sql[:120]
                )
            expanded = compiled.construct_expanded_state(
                {name: None for name, bind in binds.items() if bind.required}
            )
            sql, names = expanded.statement, list(expanded.positiontup or [])
            for name, parts in expanded.parameter_expansion.items():
                for part in parts:
                    binds[part] = binds[name]
                    fixed[part] = expanded.parameters[part]
        self.sql = sql
        defaults = {column.key: column.default for column in compiled.insert_prefetch}
        defaults |= {column.key: column.onupdate for column in compiled.update_prefetch}
        # Per parameter: its name, its type's conversion, and where a value missing from the
        # caller's mapping comes from (a column's Python default, or a value in the statement
        # itself: a LIMIT, a member of a constant IN list).
        self._binds: list[tuple[str, Processor, Callable[[], Any] | None]] = [
            (name, binds[name].type.dialect_impl(dialect).bind_processor(dialect),
             _fallback(defaults.get(name), binds[name], fixed.get(name, _UNSET)))
            for name in names
        ]
        columns = list(getattr(statement, "exported_columns", ()))
        self._row: Any = namedtuple("_Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        self._results: list[Processor] = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, process, fallback in self._binds:
            value = fallback() if fallback is not None and name not in values else values[name]
            out.append(value if process is None else process(value))
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> Any:
        return self._row._make(
            value if process is None else process(value)
            for value, process in zip(raw, self._results, strict=True)
        )


_UNSET = object()


def _fallback(default: Any, bind: BindParameter[Any], fixed: Any) -> Callable[[], Any] | None:
    if fixed is not _UNSET:
        return lambda: fixed
    if default is not None:
        if default.is_callable:
            return lambda: default.arg(None)
        return lambda: default.arg
    if bind.required:
        return None
    return lambda: bind.effective_value


class DriverResult:
    """The part of `sqlalchemy.CursorResult` the hot path reads: rows fetched at once."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self._rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


class DriverConnection:
    """The part of `sqlalchemy.Connection` the hot path uses, `execute` of a prebuilt Core
    statement with one mapping or a list of them, on one `sqlite3` connection.

    Not thread-safe: the `Store` holds a lock around each use.
    """

    def __init__(self, engine: Engine, dbapi: sqlite3.Connection) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.dbapi = dbapi
        self._prepared: dict[tuple[int, frozenset[str]], tuple[ClauseElement, _Prepared]] = {}

    def _prepare(self, statement: ClauseElement, keys: frozenset[str]) -> _Prepared:
        key = (id(statement), keys)
        found = self._prepared.get(key)
        if found is None or found[0] is not statement:
            found = (statement, _Prepared(statement, sorted(keys), self.dialect))
            self._prepared[key] = found
        return found[1]

    def execute(
        self,
        statement: ClauseElement,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> DriverResult:
        many = isinstance(parameters, Sequence)
        rows_in: Sequence[Mapping[str, Any]] = (
            parameters if isinstance(parameters, Sequence) else [parameters or {}]
        )
        if not rows_in:
            return DriverResult([], 0)
        prepared = self._prepare(statement, frozenset(rows_in[0]))
        values = [prepared.parameters(row) for row in rows_in]
        shown = values if many else values[0]
        cursor = self.dbapi.cursor()
        try:
            for listener in self.engine.dispatch.before_cursor_execute:
                listener(None, cursor, prepared.sql, shown, None, many)
            with self._as_sqlalchemy_error(prepared.sql, shown, many=many):
                if many:
                    cursor.executemany(prepared.sql, values)
                    return DriverResult([], cursor.rowcount)
                cursor.execute(prepared.sql, values[0])
                raw_rows = cursor.fetchall()
            return DriverResult([prepared.row(raw) for raw in raw_rows], cursor.rowcount)
        finally:
            cursor.close()

    def begin(self) -> None:
        """Take the file's write lock now (waiting out the busy timeout), so the transaction
        reads what it then writes."""
        with self._as_sqlalchemy_error("BEGIN IMMEDIATE"):
            self.dbapi.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        with self._as_sqlalchemy_error("COMMIT"):
            self.dbapi.commit()

    def rollback(self) -> None:
        self.dbapi.rollback()

    @contextmanager
    def _as_sqlalchemy_error(
        self, sql: str, parameters: Any = (), *, many: bool = False
    ) -> Iterator[None]:
        """Raise a driver error as the `DBAPIError` subclass SQLAlchemy would have raised."""
        try:
            yield
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, parameters, exc, sqlite3.Error, dialect=self.dialect,
                                      ismulti=many) from exc
