"""The event store's compiled statements: built and typed by SQLAlchemy once, run on the DB-API cursor.

SQLAlchemy builds and types the statement (compiled once per dialect, with the dialect's own bind
processors: datetimes, JSON, booleans are stored exactly as the ORM stores and reads them); only the
per-execution machinery is skipped. Measured against `Connection.execute` with SQLAlchemy's compiled
cache: an event's INSERT and its call's UPDATE cost ~75 us here against ~235 us, and the whole webhook
benchmark loses more than 5 % of app/bare without them (bench/README.md, "Hot path: hand-made parts
against the libraries' hooks"). Use it only for fixed statements on the hot path; everything else goes
through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    bind: Callable[[Mapping[str, Any]], Any]  # the DB-API parameters (a tuple, or a dict for named styles)


@dataclass(frozen=True)
class Bound:
    """A statement with its parameters bound and processed: only the database's part is left."""

    sql: str
    parameters: Any  # a tuple, or a dict for named paramstyles

    def run(self, connection: Connection) -> Any:
        """Execute on the connection's DB-API connection, inside its current transaction; the cursor.
        Errors are raised as SQLAlchemy's own (IntegrityError, OperationalError ...), as execute() would."""
        dialect, dbapi_connection = connection.dialect, connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, self.parameters)
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(error, dbapi_connection, cursor)
            raise DBAPIError.instance(
                self.sql,
                self.parameters,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=gone,
                dialect=dialect,
            ) from error
        return cursor


def _stored_as_iso(impl: Any) -> bool:
    """SQLite's DATETIME stored as ISO 8601 with a space and microseconds (its default format): asked of
    SQLAlchemy's own bind processor, with and without microseconds, rather than of its settings."""
    if not isinstance(impl, sqlite.DATETIME):
        return False
    process = impl.bind_processor(_SQLITE)
    samples = (datetime(2026, 1, 2, 3, 4, 5, 678901), datetime(2026, 1, 2, 3, 4, 5))
    return process is not None and all(process(at) == at.isoformat(" ", "microseconds") for at in samples)


_SQLITE = sqlite.dialect()


def _sqlite_datetime(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's SQLite datetime binding, made in C for the naive datetimes every column holds:
    datetime.isoformat gives the very same text (a test compares them) in under half the time, and every
    webhook binds four or five of them."""

    def process_fast(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)  # None, dates, aware datetimes: as SQLAlchemy does

    return process_fast


class FastStatement:
    """A statement compiled once per dialect and set of parameter names; `execute` returns the cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """Run on the connection's own DB-API connection, inside its current transaction."""
        return self.bind(connection.dialect, params).run(connection)

    def bind(self, dialect: Dialect, params: Mapping[str, Any]) -> Bound:
        """The SQL and its DB-API parameters, ready to run later (e.g. once it is this writer's turn)."""
        key = (dialect.name, frozenset(params))
        compiled = self._compiled.get(key) or self._compile(dialect, key)
        return Bound(compiled.sql, compiled.bind(params))

    def _compile(self, dialect: Dialect, key: tuple[str, frozenset[str]]) -> _Compiled:
        # As SQLAlchemy does: an INSERT's columns are the parameters given (the rest take their defaults).
        names = key[1]
        compiled = self.statement.compile(dialect=dialect, column_keys=sorted(names))
        assert isinstance(compiled, SQLCompiler)
        prefetch = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if prefetch:  # Python-side defaults are SQLAlchemy's execution machinery: give every value here
            raise ValueError(
                f"FastStatement needs values for {', '.join(prefetch)} (they have Python defaults)"
            )
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("FastStatement cannot expand IN lists: write the choices out with or_()")
        processors = {}
        for bind, name in compiled.bind_names.items():
            impl = bind.type.dialect_impl(dialect)
            sqlalchemys = impl.bind_processor(dialect)
            if sqlalchemys is not None:
                processors[name] = _sqlite_datetime(sqlalchemys) if _stored_as_iso(impl) else sqlalchemys
        # Every bind once, through SQLAlchemy (constants of the statement included); per execution only
        # the parameters given are looked up and processed, in the order the SQL wants them.
        every = dict(compiled.construct_params(dict.fromkeys(names)))
        order = list(compiled.positiontup or ()) if compiled.positional else list(every)
        slots: list[tuple[str, bool, Any]] = []  # name, given per execution, processor or processed constant
        for name in order:
            process = processors.get(name)
            if name in names:
                slots.append((name, True, process))
            else:
                slots.append((name, False, process(every[name]) if process else every[name]))

        def values(params: Mapping[str, Any]) -> list[Any]:
            row = []
            for name, given, extra in slots:
                if not given:
                    row.append(extra)
                elif extra is None:
                    row.append(params[name])
                else:
                    row.append(extra(params[name]))
            return row

        def positional(params: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(values(params))

        def named(params: Mapping[str, Any]) -> dict[str, Any]:
            return dict(zip(order, values(params), strict=True))

        result = _Compiled(compiled.string, positional if compiled.positional else named)
        self._compiled[key] = result
        return result
