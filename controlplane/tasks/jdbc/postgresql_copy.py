"""PostgreSQL CopyIn and CopyOut: a file of internal storage streamed through ``COPY ... FROM
STDIN`` / ``TO STDOUT``."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import psycopg
from psycopg import sql as pgsql

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.masking import Masker
from controlplane.spec.plugins.jdbc import PostgresCopy, PostgresCopyIn, PostgresCopyOut
from controlplane.tasks import props
from controlplane.tasks.jdbc.postgresql import PostgresSession, connect_postgres
from controlplane.tasks.jdbc.session import CHUNK, credentials_masker, interruptible
from controlplane.tasks.jdbc.statements import statement_preview


def _copy_command(
    task: PostgresCopy, ctx: RunContext, source: str | None, direction: str
) -> pgsql.Composed:
    """``COPY <table (columns) | (query)> <direction> WITH (...)`` with Kestra's options."""
    target: pgsql.Composable
    if source is not None:
        target = pgsql.SQL("({})").format(pgsql.SQL(source))
    elif task.table is not None:
        columns = props.string_list(ctx, task.columns, "columns")
        names = f" ({', '.join(columns)})" if columns else ""
        target = pgsql.SQL(props.text(ctx, task.table) + names)
    else:
        raise TaskFailed(
            "'table' is required: the table to copy"
            + (" into" if "FROM" in direction else " (or give 'sql')")
        )
    options = _copy_options(task, ctx)
    command = pgsql.SQL("COPY {} {}").format(target, pgsql.SQL(direction))
    if options:
        command = pgsql.SQL("{} WITH ({})").format(command, pgsql.SQL(", ").join(options))
    return command


def _copy_options(task: PostgresCopy, ctx: RunContext) -> list[pgsql.Composable]:
    options: list[pgsql.Composable] = []
    fmt = props.text(ctx, task.format).upper()
    if fmt not in ("TEXT", "CSV", "BINARY"):
        raise TaskFailed(f"'format' must be one of TEXT, CSV, BINARY, got '{fmt}'")
    if fmt != "TEXT":
        options.append(pgsql.SQL("FORMAT " + fmt))
    for name, word in (("oids", "OIDS"), ("freeze", "FREEZE")):
        if getattr(task, name) is not None and props.boolean(ctx, getattr(task, name)):
            options.append(pgsql.SQL(word))
    if task.header is not None:
        options.append(
            pgsql.SQL("HEADER " + ("TRUE" if props.boolean(ctx, task.header) else "FALSE"))
        )
    for name, word, single in (
        ("delimiter", "DELIMITER", True),
        ("nullString", "NULL", False),
        ("quote", "QUOTE", True),
        ("escape", "ESCAPE", True),
        ("encoding", "ENCODING", False),
    ):
        value = getattr(task, name)
        if value is None:
            continue
        text = props.text(ctx, value)
        if single and len(text) != 1:
            raise TaskFailed(f"'{name}' must be a single character, got {text!r}")
        options.append(pgsql.SQL(word + " {}").format(pgsql.Literal(text)))
    for name, word in (
        ("forceQuote", "FORCE_QUOTE"),
        ("forceNotNull", "FORCE_NOT_NULL"),
        ("forceNull", "FORCE_NULL"),
    ):
        columns = props.string_list(ctx, getattr(task, name), name)
        if columns:
            listed = "*" if columns == ["*"] and name == "forceQuote" else f"({', '.join(columns)})"
            options.append(pgsql.SQL(f"{word} {listed}"))
    return options


def _copy_connection(
    task: PostgresCopy, ctx: RunContext, secrets_: Masker
) -> psycopg.Connection[Any]:
    conn = connect_postgres(task, ctx, secrets_)
    # libpq has no socket read timeout; a statement timeout bounds the same wait.
    if task.socketTimeout is not None:
        seconds = int(ctx.render_typed(task.socketTimeout))
        if seconds > 0:
            conn.execute(
                pgsql.SQL("SET statement_timeout = {}").format(pgsql.Literal(seconds * 1000))
            )
    return conn


@runs(PostgresCopyIn)
def run_copy_in(task: PostgresCopyIn, ctx: RunContext) -> dict[str, Any]:
    secrets_ = credentials_masker()
    uri = props.text(ctx, task.from_)
    if not uri.startswith(("kestra://", "nsfile://")):
        raise TaskFailed(
            f"'from' must be a kestra:/// URI of a file in internal storage, got '{uri}'"
        )
    with _copy_connection(task, ctx, secrets_) as conn:
        command = _copy_command(task, ctx, None, "FROM STDIN")
        statement = command.as_string(conn)
        with ctx.open_file(uri) as stream, _copying(ctx, conn, secrets_, statement) as cursor:
            with cursor.copy(command) as copy:
                while chunk := stream.read(CHUNK):
                    if ctx.cancelled.is_set():
                        raise TaskKilled("stopped while copying")
                    copy.write(chunk)
            rows = cursor.rowcount
    ctx.metric("rows", rows)
    ctx.info(f"Copied {rows} rows from {uri}: {statement_preview(statement)}")
    return {"rowCount": rows}


@runs(PostgresCopyOut)
def run_copy_out(task: PostgresCopyOut, ctx: RunContext) -> dict[str, Any]:
    secrets_ = credentials_masker()
    query = props.optional_text(ctx, task.sql)
    target = ctx.working_dir / f".weir-copy-out-{secrets.token_hex(4)}"
    with _copy_connection(task, ctx, secrets_) as conn:
        command = _copy_command(
            task, ctx, query.strip().rstrip(";") if query else None, "TO STDOUT"
        )
        statement = command.as_string(conn)
        with _copying(ctx, conn, secrets_, statement) as cursor, target.open("wb") as out:
            with cursor.copy(command) as copy:
                for data in copy:
                    if ctx.cancelled.is_set():
                        raise TaskKilled("stopped while copying")
                    out.write(data)
            rows = cursor.rowcount
    uri = ctx.put_file("copy-out", target)
    target.unlink(missing_ok=True)
    ctx.metric("rows", rows)
    ctx.info(f"Copied {rows} rows to {uri}: {statement_preview(statement)}")
    return {"uri": uri, "rowCount": rows}


@contextlib.contextmanager
def _copying(
    ctx: RunContext, conn: psycopg.Connection[Any], secrets_: Masker, statement: str
) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor for one COPY: a kill cancels it, a database error fails the task."""
    session = PostgresSession(conn, UTC, 1)
    with interruptible(ctx, session), conn.cursor() as cursor:
        try:
            yield cursor
        except psycopg.Error as exc:
            if ctx.cancelled.is_set():
                raise TaskKilled("the COPY was interrupted") from None
            raise TaskFailed(
                f"COPY failed: {secrets_.mask(str(exc).strip())} ({statement_preview(statement)})"
            ) from None
