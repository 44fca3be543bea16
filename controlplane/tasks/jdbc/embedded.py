"""DuckDB and SQLite, which work in the task's working directory.

``inputFiles`` are written there (the SQL reads them by name or through ``{{ workingDir }}``),
each name of ``outputFiles`` is a file there whose path the SQL gets as
``{{ outputFiles.<name> }}`` and which is stored afterwards, ``databaseUri`` / ``sqliteFile``
bring a database file in and ``outputDbFile`` stores the database file.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import sqlite3
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import duckdb

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.jdbc import (
    DuckDbOptions,
    DuckDbQueries,
    DuckDbQuery,
    JdbcQueryTask,
    SqliteQueries,
    SqliteQuery,
)
from controlplane.tasks import props
from controlplane.tasks.jdbc.session import (
    CHUNK,
    Outcome,
    Session,
    credentials_masker,
    fetch_size,
    iter_rows,
    run_sql,
    safe_url,
    time_zone,
)
from controlplane.tasks.scripts import target_path

_INSTALL = re.compile(r"""\s*INSTALL\s+['"]?(\w+)['"]?\s*;?\s*$""", re.IGNORECASE)
# Statement types whose "Count" column is a row count rather than a result set.
_DUCKDB_ROWS = {"SELECT", "EXPLAIN", "PRAGMA", "CALL", "RELATION", "EXECUTE", "LOGICAL_PLAN"}


class _DuckDbSession(Session):
    errors = (duckdb.Error,)

    def __init__(
        self,
        database: str,
        config: dict[str, str | bool | int | float | list[str]],
        zone: tzinfo,
        size: int,
    ) -> None:
        super().__init__(zone, size)
        self.con = duckdb.connect(database, config=config)

    def execute(self, sql: str, values: list[Any] | None, stream: bool) -> Outcome:
        if self._built_in(sql):
            return Outcome(None)
        kinds = [statement.type.name for statement in self.con.extract_statements(sql)]
        self.con.execute(sql, values)
        description = self.con.description
        if description is None:
            return Outcome(None)
        if kinds and kinds[-1] not in _DUCKDB_ROWS and [d[0] for d in description] == ["Count"]:
            counted = self.con.fetchone()
            return Outcome(None, int(counted[0]) if counted else -1)
        types = [str(d[1]).upper() for d in description]
        names = [str(d[0]) for d in description]
        return Outcome(
            iter_rows(
                self.con.fetchmany, names, lambda i, v: self._cell(types[i], v), self.fetch_size
            )
        )

    def _built_in(self, sql: str) -> bool:
        """``INSTALL json`` of an extension the duckdb package is built with: nothing to do
        (DuckDB still tries to download it, which fails without a network)."""
        match = _INSTALL.match(sql)
        if match is None:
            return False
        query = "SELECT install_mode FROM duckdb_extensions() WHERE extension_name = ?"
        found = self.con.execute(query, [match.group(1).lower()]).fetchone()
        return found is not None and found[0] == "STATICALLY_LINKED"

    def _cell(self, type_name: str, value: Any) -> Any:
        if value is None:
            return None
        if type_name == "JSON" and isinstance(value, str):
            return json.loads(value)
        if isinstance(value, datetime):
            # Kestra reads a TIMESTAMP in timeZoneId and a TIMESTAMPTZ in UTC.
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=self.zone)
        return value

    def begin(self) -> None:
        self.con.begin()

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.rollback()

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()


class _SqliteSession(Session):
    errors = (sqlite3.Error,)
    arrays = False

    def __init__(self, database: str, uri: bool, zone: tzinfo, size: int) -> None:
        super().__init__(zone, size)
        self.con = sqlite3.connect(database, uri=uri, isolation_level=None, check_same_thread=False)

    def execute(self, sql: str, values: list[Any] | None, stream: bool) -> Outcome:
        cursor = self.con.execute(sql, values or ())
        if cursor.description is None:
            return Outcome(None, cursor.rowcount)
        names = [str(d[0]) for d in cursor.description]
        return Outcome(iter_rows(cursor.fetchmany, names, lambda i, v: v, self.fetch_size))

    def begin(self) -> None:
        self.con.execute("BEGIN")

    def commit(self) -> None:
        if self.con.in_transaction:
            self.con.execute("COMMIT")

    def rollback(self) -> None:
        if self.con.in_transaction:
            self.con.execute("ROLLBACK")

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()


_OUTPUT_NAME = re.compile(r"[\w][\w.-]*")
_EXTENSION_NAME = re.compile(r"[A-Za-z0-9_]+")
_DUCKDB_URL = "'url' must be jdbc:duckdb: (in memory) or jdbc:duckdb:/path/to/file.db"
_SQLITE_URL = (
    "'url' must be jdbc:sqlite: or jdbc:sqlite::memory: (in memory) or jdbc:sqlite:/path/to/file.db"
)

_Embedded = DuckDbQuery | DuckDbQueries | SqliteQuery | SqliteQueries


def _write_input_files(task: DuckDbOptions, ctx: RunContext) -> None:
    files = props.mapping(ctx, task.inputFiles, "inputFiles")
    for name, value in files.items():
        content = props.text(ctx, value)
        target = target_path(ctx.working_dir, props.text(ctx, name))
        if content.startswith(("kestra://", "nsfile://")):
            _copy_from_storage(ctx, content, target)
        else:
            target.write_text(content, encoding="utf-8")


def _copy_from_storage(ctx: RunContext, uri: str, target: Path) -> None:
    with ctx.open_file(uri) as stream, target.open("wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)


def _output_files(task: JdbcQueryTask, ctx: RunContext) -> dict[str, Path]:
    """An empty file in the working directory for each name of ``outputFiles``."""
    files: dict[str, Path] = {}
    for name in props.string_list(ctx, task.outputFiles, "outputFiles"):
        if not _OUTPUT_NAME.fullmatch(name):
            raise TaskFailed(
                f"'outputFiles' holds file names (letters, digits, '_', '-', '.'), got '{name}'"
            )
        path = ctx.working_dir / name
        if '"' in str(path) or "\\" in str(path):
            raise TaskFailed(f"the working directory {ctx.working_dir} cannot hold outputFiles")
        path.touch()
        files[name] = path
    return files


def _render_sql(ctx: RunContext, template: str, files: Mapping[str, Path]) -> str:
    """The SQL rendered with ``outputFiles`` (and Kestra's older name ``temp``) defined."""
    if not files:
        return props.text(ctx, template)
    entries = ", ".join(f'"{name}": "{path}"' for name, path in files.items())
    return props.text(
        ctx, f"{{% set outputFiles = {{{entries}}} %}}{{% set temp = outputFiles %}}{template}"
    )


def _local_path(ctx: RunContext, location: str) -> Path:
    """A database file path; a relative one is in the working directory."""
    path = Path(location).expanduser()
    path = path if path.is_absolute() else ctx.working_dir / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _duckdb_database(task: DuckDbQuery | DuckDbQueries, ctx: RunContext, location: str) -> str:
    """Where the database is: ``databaseUri`` copied in, the url's path, ``databaseFile``, a
    file of the working directory for ``outputDbFile``, else memory."""
    if task.databaseUri is not None:
        target = ctx.working_dir / f"database-{secrets.token_hex(4)}.duckdb"
        _copy_from_storage(ctx, props.text(ctx, task.databaseUri), target)
        return str(target)
    if location.startswith(("md:", "motherduck:")):
        return location
    if location and location != ":memory:":
        return str(_local_path(ctx, location))
    if task.databaseFile is not None:
        return str(_local_path(ctx, props.text(ctx, task.databaseFile)))
    if props.boolean(ctx, task.outputDbFile):
        return str(ctx.working_dir / "database.duckdb")
    return ":memory:"


def _open_duckdb(
    task: DuckDbQuery | DuckDbQueries, ctx: RunContext, zone: tzinfo, size: int
) -> tuple[Session, Path | None]:
    url = props.text(ctx, task.url)
    if not url.startswith("jdbc:duckdb:"):
        raise TaskFailed(f"{_DUCKDB_URL}, got '{safe_url(url)}'")
    location, _, query = url[len("jdbc:duckdb:") :].partition("?")
    _write_input_files(task, ctx)
    database = _duckdb_database(task, ctx, location)
    try:
        config: dict[str, str | bool | int | float | list[str]] = dict(
            urllib.parse.parse_qsl(query)
        )
        session = _DuckDbSession(database, config, zone, size)
    except duckdb.Error as exc:
        raise TaskFailed(f"Could not open the DuckDB database {database}: {exc}") from None
    # Relative file names in the SQL are files of the working directory, as in Kestra.
    folder = str(ctx.working_dir).replace("'", "''")
    session.con.execute(f"SET file_search_path = '{folder}'")
    if task.communityExtensions is not None:
        _load_extensions(
            session, ctx, props.string_list(ctx, task.communityExtensions, "communityExtensions")
        )
    path = Path(database)
    return session, path if path.is_absolute() else None


def _load_extensions(session: _DuckDbSession, ctx: RunContext, names: list[str]) -> None:
    """Best effort, as in Kestra: an extension that cannot be loaded is a warning."""
    for name in names:
        if not _EXTENSION_NAME.fullmatch(name):
            ctx.warning(f"Skipped the DuckDB extension '{name}': not an extension name")
            continue
        try:
            session.con.execute(f"LOAD {name}")
        except duckdb.Error:
            try:
                session.con.execute(f"INSTALL {name} FROM community")
                session.con.execute(f"LOAD {name}")
            except duckdb.Error as exc:
                ctx.warning(
                    f"Could not load the DuckDB extension '{name}', going on without it: {exc}"
                )


def _sqlite_memory(location: str) -> bool:
    lowered = location.strip().lower()
    return (
        lowered in ("", ":memory:")
        or lowered.startswith("file::memory:")
        or (lowered.startswith("file:") and "mode=memory" in lowered)
    )


def _open_sqlite(
    task: SqliteQuery | SqliteQueries, ctx: RunContext, zone: tzinfo, size: int
) -> tuple[Session, Path | None]:
    url = props.text(ctx, task.url)
    if not url.startswith("jdbc:sqlite:"):
        raise TaskFailed(f"{_SQLITE_URL}, got '{safe_url(url)}'")
    location = url[len("jdbc:sqlite:") :]
    memory = _sqlite_memory(location)
    path: Path | None = None
    if task.sqliteFile is not None:
        name = (
            "database.sqlite" if memory else Path(location.split("?")[0].removeprefix("file:")).name
        )
        path = ctx.working_dir / name
        _copy_from_storage(ctx, props.text(ctx, task.sqliteFile), path)
    elif memory and props.boolean(ctx, task.outputDbFile):
        path = ctx.working_dir / "database.sqlite"
    elif not memory and not location.startswith("file:"):
        path = _local_path(ctx, location)
    database = str(path) if path is not None else (location or ":memory:")
    try:
        session = _SqliteSession(
            database, path is None and database.startswith("file:"), zone, size
        )
    except sqlite3.Error as exc:
        raise TaskFailed(f"Could not open the SQLite database {database}: {exc}") from None
    return session, path


def _run_embedded(
    task: _Embedded,
    ctx: RunContext,
    opener: Callable[[Any, RunContext, tzinfo, int], tuple[Session, Path | None]],
) -> dict[str, Any]:
    zone, size = time_zone(task, ctx), fetch_size(task, ctx)
    files = _output_files(task, ctx)
    session, database = opener(task, ctx, zone, size)
    try:
        outputs = run_sql(
            task, ctx, session, _render_sql(ctx, task.sql, files), credentials_masker()
        )
    finally:
        session.close()
    if files:
        outputs["outputFiles"] = {name: ctx.put_file(name, path) for name, path in files.items()}
    if props.boolean(ctx, task.outputDbFile):
        if database is None or not database.exists():
            raise TaskFailed("'outputDbFile' needs a database file, and this database has none")
        outputs["databaseUri"] = ctx.put_file(database.name, database)
    return outputs


@runs(DuckDbQuery)
def run_duckdb_query(task: DuckDbQuery, ctx: RunContext) -> dict[str, Any]:
    return _run_embedded(task, ctx, _open_duckdb)


@runs(DuckDbQueries)
def run_duckdb_queries(task: DuckDbQueries, ctx: RunContext) -> dict[str, Any]:
    return _run_embedded(task, ctx, _open_duckdb)


@runs(SqliteQuery)
def run_sqlite_query(task: SqliteQuery, ctx: RunContext) -> dict[str, Any]:
    return _run_embedded(task, ctx, _open_sqlite)


@runs(SqliteQueries)
def run_sqlite_queries(task: SqliteQueries, ctx: RunContext) -> dict[str, Any]:
    return _run_embedded(task, ctx, _open_sqlite)
