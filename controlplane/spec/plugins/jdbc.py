"""SQL tasks of the jdbc plugins for DuckDB, SQLite and PostgreSQL (``io.kestra.plugin.jdbc.*``).

Every query task has Kestra's connection properties (``url``, ``username``, ``password``), the SQL
(``sql``, ``afterSQL``, named ``parameters``) and how rows come back (``fetchType``, with the
deprecated booleans ``fetch`` / ``fetchOne`` / ``store`` still accepted). ``Queries`` runs several
statements, in one transaction unless ``transaction`` is false. The embedded databases add files
in and out of the working directory; PostgreSQL adds its SSL options and the COPY tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from controlplane.expr import has_expression
from controlplane.spec.fields import DynBool, DynInt, DynMap, DynStrList, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_JDBC = "io.kestra.plugin.jdbc"


def _enum_or_expression(*values: str) -> Callable[[Any], str]:
    """One of ``values`` (any case, kept upper-case), or an expression rendered at run time."""

    def validate(value: Any) -> str:
        if isinstance(value, str) and has_expression(value):
            return value
        if isinstance(value, str) and value.upper() in values:
            return value.upper()
        raise PydanticCustomError(
            "enum",
            "expected one of {values}, got {value}",
            {"values": ", ".join(values), "value": repr(value)},
        )

    return validate


def _enum_schema(values: tuple[str, ...]) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(values)},
                {"type": "string", "pattern": r".*\{[{%].*", "title": "expression"},
            ]
        }
    )


FETCH_TYPES = ("STORE", "FETCH", "FETCH_ONE", "NONE")
SSL_MODES = ("DISABLE", "ALLOW", "PREFER", "REQUIRE", "VERIFY_CA", "VERIFY_FULL")
COPY_FORMATS = ("TEXT", "CSV", "BINARY")

FetchType = Annotated[
    str, PlainValidator(_enum_or_expression(*FETCH_TYPES)), _enum_schema(FETCH_TYPES)
]
SslMode = Annotated[str, PlainValidator(_enum_or_expression(*SSL_MODES)), _enum_schema(SSL_MODES)]
CopyFormat = Annotated[
    str, PlainValidator(_enum_or_expression(*COPY_FORMATS)), _enum_schema(COPY_FORMATS)
]


class JdbcQueryTask(TaskSpec):
    """What every query task shares."""

    url: Text
    username: Text | None = None
    password: Text | None = None
    timeZoneId: Text | None = None
    sql: Text
    afterSQL: Text | None = None
    fetchType: FetchType = "NONE"
    fetchSize: DynInt = 10000
    parameters: DynMap | None = None
    outputFiles: DynStrList | None = None
    connectionPooling: DynBool = True
    connectionPoolSize: DynInt = 10
    store: bool = False
    """Deprecated: ``fetchType: STORE``."""
    fetchOne: bool = False
    """Deprecated: ``fetchType: FETCH_ONE``."""
    fetch: bool = False
    """Deprecated: ``fetchType: FETCH``."""


class SingleQuery(JdbcQueryTask):
    autoCommit: DynBool = True
    """Deprecated in Kestra; a Query's statement is committed when it succeeds either way."""


class MultiQueries(JdbcQueryTask):
    transaction: DynBool = True


class DuckDbOptions(TaskSpec):
    url: Text = "jdbc:duckdb:"
    inputFiles: dict[str, Any] | str | None = None
    databaseUri: Text | None = None
    databaseFile: Text | None = None
    """A database file on the worker (used with ``url: jdbc:duckdb:``)."""
    outputDbFile: DynBool = False
    communityExtensions: DynStrList | None = None


class SqliteOptions(TaskSpec):
    url: Text = "jdbc:sqlite:"
    sqliteFile: Text | None = None
    outputDbFile: DynBool = False


class PostgresConnection(TaskSpec):
    url: Text
    username: Text | None = None
    password: Text | None = None
    ssl: DynBool = False
    sslMode: SslMode | None = None
    sslRootCert: Text | None = None
    sslCert: Text | None = None
    sslKey: Text | None = None
    sslKeyPassword: Text | None = None


@task(f"{_JDBC}.duckdb.Query")
class DuckDbQuery(DuckDbOptions, SingleQuery):
    pass


@task(f"{_JDBC}.duckdb.Queries")
class DuckDbQueries(DuckDbOptions, MultiQueries):
    pass


@task(f"{_JDBC}.sqlite.Query")
class SqliteQuery(SqliteOptions, SingleQuery):
    pass


@task(f"{_JDBC}.sqlite.Queries")
class SqliteQueries(SqliteOptions, MultiQueries):
    pass


@task(f"{_JDBC}.postgresql.Query")
class PostgresQuery(PostgresConnection, SingleQuery):
    pass


@task(f"{_JDBC}.postgresql.Queries")
class PostgresQueries(PostgresConnection, MultiQueries):
    pass


class PostgresCopy(PostgresConnection):
    """COPY options; each is written into the COPY command only when given."""

    table: Text | None = None
    columns: DynStrList | None = None
    format: CopyFormat = "TEXT"
    oids: DynBool | None = None
    freeze: DynBool | None = None
    delimiter: Text | None = None
    nullString: Text | None = None
    header: DynBool | None = None
    quote: Text | None = None
    escape: Text | None = None
    forceQuote: DynStrList | None = None
    forceNotNull: DynStrList | None = None
    forceNull: DynStrList | None = None
    encoding: Text | None = None
    socketTimeout: DynInt | None = None


@task(f"{_JDBC}.postgresql.CopyIn")
class PostgresCopyIn(PostgresCopy):
    from_: Text = Field(alias="from")


@task(f"{_JDBC}.postgresql.CopyOut")
class PostgresCopyOut(PostgresCopy):
    sql: Text | None = None
