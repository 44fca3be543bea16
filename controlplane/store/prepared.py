"""Statements compiled once per dialect and run on the driver's cursor: the engine's hot path.

The engine writes after every step. Run through ``Connection.execute``, each of its few
statements costs SQLAlchemy tens of microseconds (cache key, execution context, events, result
metadata) on top of the driver's few. A :class:`Prepared` statement is a Core statement compiled
once for the dialect, with the bind processors of its parameters' types (JSON, UTC datetimes)
and the values of its literals; running it is one call on the DBAPI cursor of the unit's
connection, inside the unit's transaction. A driver error is raised as SQLAlchemy's own
exception, and a lost connection is invalidated, as ``Connection.execute`` does, so a unit sees
the same errors either way.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

_Processor = Callable[[Any], Any] | None
T = TypeVar("T")


class Prepared:
    """One statement compiled for one dialect; ``keys`` are the columns an INSERT or UPDATE
    sets (all of them when empty)."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, keys: Sequence[str] = ()
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        positional = compiled.positiontup
        self._positional = positional is not None
        self._names: tuple[str, ...] = tuple(positional if positional is not None else binds)
        self._literals = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        processors: list[tuple[str, _Processor]] = []
        for name in self._names:
            processor = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            processors.append((name, processor))
        self._processors = tuple(processors)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """What the driver takes for ``values`` (named by bind name; literals filled in)."""
        literals = self._literals
        row = [
            (values[name] if name in values else literals[name])
            if processor is None
            else processor(values[name] if name in values else literals[name])
            for name, processor in self._processors
        ]
        if self._positional:
            return tuple(row)
        return dict(zip(self._names, row, strict=True))

    def execute(self, connection: Connection, values: Mapping[str, Any] | None = None) -> Any:
        """Run once; returns the DBAPI cursor (its rows, ``rowcount``), which the caller closes."""
        params = self.params(values or {})
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, params)
        except Exception as exc:
            cursor.close()
            raise self._error(connection, exc, params) from exc
        return cursor

    def execute_many(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run once per row of ``rows``."""
        params: Any = [self.params(row) for row in rows]
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(self.sql, params)
        except Exception as exc:
            raise self._error(connection, exc, params) from exc
        finally:
            cursor.close()

    def scalar(self, connection: Connection, values: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None when there is no row."""
        cursor = self.execute(connection, values)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else row[0]

    def column(self, connection: Connection, values: Mapping[str, Any] | None = None) -> list[Any]:
        """The first column of every row."""
        cursor = self.execute(connection, values)
        try:
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.close()

    def rowcount(self, connection: Connection, values: Mapping[str, Any] | None = None) -> int:
        """Run once; the number of rows it changed."""
        cursor = self.execute(connection, values)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def _error(self, connection: Connection, exc: Exception, params: Any) -> Exception:
        return driver_error(connection, exc, self.sql, params)


def run_on_driver(connection: Connection, sql: str) -> None:
    """Run ``sql`` (no parameters, no rows) on the driver's cursor."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
    except Exception as exc:
        raise driver_error(connection, exc, sql, ()) from exc
    finally:
        cursor.close()


def driver_error(connection: Connection, exc: Exception, sql: str, params: Any) -> Exception:
    """``exc`` as ``Connection.execute`` raises it; a lost connection is invalidated."""
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    if not isinstance(exc, dbapi.Error):
        return exc
    lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(exc)
    return DBAPIError.instance(
        sql,
        params,
        exc,
        dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )


class PreparedSet(Generic[T]):
    """The prepared statements of one repository, built by ``build`` once per dialect (an
    engine's dialect carries its JSON serializer)."""

    def __init__(self, build: Callable[[Dialect], T]) -> None:
        self._build = build
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, T] = weakref.WeakKeyDictionary()

    def of(self, dialect: Dialect) -> T:
        found = self._by_dialect.get(dialect)
        if found is None:
            found = self._by_dialect[dialect] = self._build(dialect)
        return found
