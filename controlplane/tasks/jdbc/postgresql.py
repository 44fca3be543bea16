"""PostgreSQL Query and Queries: the connection from the JDBC url, SSL, rows as they stream."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.masking import Masker
from controlplane.spec.plugins.jdbc import (
    SSL_MODES,
    PostgresConnection,
    PostgresQueries,
    PostgresQuery,
)
from controlplane.tasks import props
from controlplane.tasks.jdbc.session import (
    Outcome,
    Session,
    credentials_masker,
    fetch_size,
    iter_rows,
    run_sql,
    safe_url,
    time_zone,
)
from controlplane.tasks.jdbc.statements import first_keyword

_PG_ROW_KEYWORDS = {"SELECT", "VALUES", "TABLE", "WITH", "SHOW", "EXPLAIN", "FETCH"}
_TIMESTAMPTZ_OID = 1184


class PostgresSession(Session):
    placeholder = "%s"
    escape_percent = True
    errors = (psycopg.Error,)

    def __init__(self, conn: psycopg.Connection[Any], zone: tzinfo, size: int) -> None:
        super().__init__(zone, size)
        self.conn = conn

    def execute(self, sql: str, values: list[Any] | None, stream: bool) -> Outcome:
        cursor = self.conn.cursor()
        if stream and first_keyword(sql) in _PG_ROW_KEYWORDS:
            outcome = Outcome(None)
            outcome.rows = self._stream(cursor, sql, values, outcome)
            return outcome
        cursor.execute(sql, values)
        if cursor.description is None:
            return Outcome(None, cursor.rowcount)
        names = [d.name for d in cursor.description]
        oids = [d.type_code for d in cursor.description]
        return Outcome(
            iter_rows(cursor.fetchmany, names, lambda i, v: self._cell(oids[i], v), self.fetch_size)
        )

    def _stream(
        self, cursor: psycopg.Cursor[Any], sql: str, values: list[Any] | None, outcome: Outcome
    ) -> Iterator[dict[str, Any]]:
        """Rows as the server sends them (chunks of fetchSize), never the whole result."""
        size = self.fetch_size if psycopg.pq.version() >= 170000 else 1
        names: list[str] = []
        oids: list[int] = []
        try:
            for row in cursor.stream(sql, values, size=size):
                if not names and cursor.description is not None:
                    names = [d.name for d in cursor.description]
                    oids = [d.type_code for d in cursor.description]
                yield {name: self._cell(oids[i], row[i]) for i, name in enumerate(names)}
        except psycopg.ProgrammingError as exc:
            if "didn't produce a result" not in str(exc):
                raise
            outcome.rows = None  # a data-modifying WITH without RETURNING

    def _cell(self, oid: int, value: Any) -> Any:
        if oid == _TIMESTAMPTZ_OID and isinstance(value, datetime):
            return value.astimezone(self.zone)
        return value

    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.conn.execute("ROLLBACK")

    def interrupt(self) -> None:
        self.conn.cancel_safe()

    def close(self) -> None:
        self.conn.close()


_PG_URL = "jdbc:postgresql://host:port/database"


_PG_PARAMETERS = {
    "user": "user",
    "password": "password",
    "sslmode": "sslmode",
    "sslrootcert": "sslrootcert",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "sslpassword": "sslpassword",
    "options": "options",
    "applicationname": "application_name",
    "connecttimeout": "connect_timeout",
    "logintimeout": "connect_timeout",
    "targetservertype": "target_session_attrs",
    "gssencmode": "gssencmode",
    "channelbinding": "channel_binding",
    "tcpkeepalive": "keepalives",
}
_TARGET_TYPES = {"primary": "primary", "master": "primary", "secondary": "standby"}
_TARGET_TYPES |= {"any": "any", "preferSecondary": "prefer-standby"}


def _postgres_conninfo(url: str, secrets_: Masker) -> dict[str, str]:
    """libpq connection parameters from a JDBC URL such as ``jdbc:postgresql://h:5432/db?x=y``."""
    if not url.startswith("jdbc:postgresql:"):
        raise TaskFailed(f"'url' must look like {_PG_URL}, got '{safe_url(url)}'")
    rest = url[len("jdbc:postgresql:") :]
    location, _, query = rest.partition("?")
    hosts, ports, database = ["localhost"], ["5432"], location
    userinfo = ""
    if location.startswith("//"):
        netloc, _, database = location[2:].partition("/")
        userinfo, _, netloc = netloc.rpartition("@")
        hosts, ports = _hosts(netloc, secrets_, url)
    info = {"host": ",".join(hosts), "port": ",".join(ports), "connect_timeout": "10"}
    if userinfo:
        user, _, password = userinfo.partition(":")
        info["user"] = urllib.parse.unquote(user)
        if password:
            info["password"] = urllib.parse.unquote(password)
            secrets_.add(info["password"])
    if database.strip("/"):
        info["dbname"] = urllib.parse.unquote(database.strip("/"))
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        _url_parameter(info, key, value, secrets_)
    return info


def _hosts(netloc: str, secrets_: Masker, url: str) -> tuple[list[str], list[str]]:
    hosts, ports = [], []
    for part in netloc.split(","):
        match = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]*)(?::(\d+))?", part)
        if match is None:
            raise TaskFailed(
                f"'url' must look like {_PG_URL}: cannot read the host '{part}' of "
                f"'{safe_url(url)}'"
            )
        hosts.append(match.group(1).strip("[]") or "localhost")
        ports.append(match.group(2) or "5432")
    return hosts, ports


def _url_parameter(info: dict[str, str], key: str, value: str, secrets_: Masker) -> None:
    name = _PG_PARAMETERS.get(key.lower())
    if key.lower() == "password":
        secrets_.add(value)
    if key.lower() == "currentschema":
        info["options"] = f"{info.get('options', '')} -csearch_path={value}".strip()
    elif key.lower() == "ssl" and value.lower() == "true":
        info.setdefault("sslmode", "verify-full")
    elif name == "target_session_attrs":
        info[name] = _TARGET_TYPES.get(value, value)
    elif name == "keepalives":
        info[name] = "1" if value.lower() == "true" else "0"
    elif name == "options":
        info[name] = f"{value} {info.get('options', '')}".strip()
    elif name is not None:
        info[name] = value


def connect_postgres(
    task: PostgresConnection, ctx: RunContext, secrets_: Masker
) -> psycopg.Connection[Any]:
    password = props.optional_text(ctx, task.password)
    secrets_.add(password)
    info = _postgres_conninfo(props.text(ctx, task.url), secrets_)
    secrets_.add(info.get("password"))
    if task.username is not None:
        info["user"] = props.text(ctx, task.username)
    if password is not None:
        info["password"] = password
    _ssl(task, ctx, info, secrets_)
    where = f"{info['host']}:{info['port']}" + (f"/{info['dbname']}" if "dbname" in info else "")
    if ctx.cancelled.is_set():
        raise TaskKilled("stopped before connecting")
    try:
        conn = psycopg.connect(make_conninfo(**info), autocommit=True)
    except psycopg.Error as exc:
        raise TaskFailed(
            f"Could not connect to PostgreSQL at {where}: {secrets_.mask(str(exc).strip())}"
        ) from None
    conn.add_notice_handler(
        lambda notice: ctx.info(secrets_.mask(f"PostgreSQL: {notice.message_primary}"))
    )
    return conn


def _ssl(task: PostgresConnection, ctx: RunContext, info: dict[str, str], secrets_: Masker) -> None:
    """Kestra's SSL properties: ``ssl`` alone means verify-full, as in the JDBC driver; the
    certificates and key are PEM texts, written to files only this attempt can read."""
    if props.boolean(ctx, task.ssl):
        info.setdefault("sslmode", "verify-full")
    if task.sslMode is not None:
        mode = props.text(ctx, task.sslMode).upper()
        if mode not in SSL_MODES:
            raise TaskFailed(f"'sslMode' must be one of {', '.join(SSL_MODES)}, got '{mode}'")
        info["sslmode"] = mode.lower().replace("_", "-")
    for name, key in (("sslRootCert", "sslrootcert"), ("sslCert", "sslcert"), ("sslKey", "sslkey")):
        value = getattr(task, name)
        if value is not None:
            info[key] = str(_private_file(ctx, f"{key}.pem", props.text(ctx, value)))
    if task.sslKeyPassword is not None:
        info["sslpassword"] = props.text(ctx, task.sslKeyPassword)
        secrets_.add(info["sslpassword"])


def _private_file(ctx: RunContext, name: str, content: str) -> Path:
    folder = ctx.working_dir / f".weir-ssl-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(content)
    return path


def _run_postgres(task: PostgresQuery | PostgresQueries, ctx: RunContext) -> dict[str, Any]:
    zone, size = time_zone(task, ctx), fetch_size(task, ctx)
    if task.outputFiles:
        ctx.warning("'outputFiles' is for DuckDB and SQLite, whose SQL writes local files; ignored")
    secrets_ = credentials_masker()
    sql = props.text(ctx, task.sql)
    session = PostgresSession(connect_postgres(task, ctx, secrets_), zone, size)
    try:
        return run_sql(task, ctx, session, sql, secrets_)
    finally:
        session.close()


@runs(PostgresQuery)
def run_postgres_query(task: PostgresQuery, ctx: RunContext) -> dict[str, Any]:
    return _run_postgres(task, ctx)


@runs(PostgresQueries)
def run_postgres_queries(task: PostgresQueries, ctx: RunContext) -> dict[str, Any]:
    return _run_postgres(task, ctx)
