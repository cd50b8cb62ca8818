"""Statements for the webhook hot path, run on the DB-API cursor of a SQLAlchemy connection.

SQLAlchemy builds and types the statement (compiled once per dialect, with the dialect's own bind
processors: datetimes, JSON, booleans are stored exactly as the ORM stores and reads them); only the
per-execution machinery is skipped. Measured on SQLite: one INSERT through Connection.execute cost about
four times the same INSERT on the cursor (bench/README.md, "Webhooks"), and every webhook writes its event
this way. Use it only for fixed statements on the hot path; everything else goes through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional paramstyles (SQLite's qmark)
    construct: Callable[[Mapping[str, Any]], dict[str, Any]]  # every bind's value, constants included
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]


class FastStatement:
    """A statement compiled once per dialect and set of parameter names; `execute` returns the cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """Run on the connection's own DB-API connection, inside its current transaction."""
        key = (connection.dialect.name, frozenset(params))
        compiled = self._compiled.get(key) or self._compile(connection.dialect, key)
        values = compiled.construct(params)
        for name, process in compiled.processors:
            values[name] = process(values[name])
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if compiled.positions is not None:
            cursor.execute(compiled.sql, tuple(values[name] for name in compiled.positions))
        else:
            cursor.execute(compiled.sql, values)
        return cursor

    def _compile(self, dialect: Dialect, key: tuple[str, frozenset[str]]) -> _Compiled:
        # As SQLAlchemy does: an INSERT's columns are the parameters given (the rest take their defaults).
        compiled = self.statement.compile(dialect=dialect, column_keys=sorted(key[1]))
        assert isinstance(compiled, SQLCompiler)
        prefetch = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if prefetch:  # Python-side defaults are SQLAlchemy's execution machinery: give every value here
            raise ValueError(
                f"FastStatement needs values for {', '.join(prefetch)} (they have Python defaults)"
            )
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("FastStatement cannot expand IN lists: write the choices out with or_()")
        processors = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
        positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None

        def construct(params: Mapping[str, Any]) -> dict[str, Any]:
            return dict(compiled.construct_params(dict(params)))

        result = _Compiled(compiled.string, positions, construct, tuple(processors))
        self._compiled[key] = result
        return result
