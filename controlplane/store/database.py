"""The SQLAlchemy engine of a store and the migrations that bring its schema up to date.

SQLite connections run in WAL mode with ``synchronous=NORMAL`` (a commit is durable once the WAL
is checkpointed; a crash loses at most the last commits, never consistency) and every unit starts
with ``BEGIN IMMEDIATE``: units that read then write (the executor's read-for-update) would
otherwise fail with "database is locked" instead of waiting for each other.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from alembic.config import Config

from controlplane.store.errors import StoreConfigError
from controlplane.store.prepared import run_on_driver

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(text: str) -> URL:
    """The URL to connect with: ``postgresql://`` and ``postgres://`` use psycopg 3."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise StoreConfigError(
            "WEIR_DATABASE_URL is not a database URL; expected postgresql://user@host/db "
            "or sqlite:///path/to/weir.db"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreConfigError(
            f"database {url.render_as_string(hide_password=True)!r} is not supported; "
            "use PostgreSQL (postgresql://...) or SQLite (sqlite:///...)"
        )
    return url


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


READ_ONLY = "weir_read_only"
"""The execution option of a connection whose transaction only reads."""


def create_store_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(
        url, json_serializer=_dumps, pool_pre_ping=True, pool_size=10, max_overflow=20
    )


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # The API's request threads, the executor and the workers each hold a connection for a
    # moment: keep enough of them open that none is opened (and configured) per request.
    engine = create_engine(url, json_serializer=_dumps, pool_size=32, max_overflow=32)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own the transaction instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A writer takes the write lock at once, so it never fails to upgrade a read lock
        # later; a reader reads a snapshot and waits for nobody.
        # Straight to the driver: through exec_driver_sql it would cost as much as a write.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        run_on_driver(connection, "BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def migration_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no ``alembic.ini``, wherever the package lies."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates '%'.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


MIGRATION_LOCK = 0x5745_4952
"""The PostgreSQL advisory lock that makes processes starting together migrate one at a time."""


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied, in one transaction.

    A database already at the head is only read: Alembic (which imports every migration to find
    the head) runs only when :func:`head_revision` differs from the stored version. An empty
    database is given the tables as they are at the head and stamped with it, as Alembic
    advises for a new database: the migrations would build the same schema (a test compares
    them) at several times the cost, a first start's largest part.
    """
    head = head_revision()
    if head is not None and stored_revision(engine) == head:
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        if head is not None and not inspect(connection).get_table_names():
            _create_at(connection, head)
            return
        from alembic import command

        command.upgrade(migration_config(connection), "head")


def _create_at(connection: Connection, head: str) -> None:
    """The tables of an empty database, and Alembic's record that they are at ``head``."""
    from controlplane.store.tables import STORE_METADATA

    STORE_METADATA.create_all(connection)
    version = Table(
        "alembic_version",
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(connection)
    connection.execute(version.insert().values(version_num=head))


_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*["\']?([\w]+)', re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The one revision no migration revises, read from the scripts' ``revision`` lines; None
    when the scripts do not name exactly one (Alembic then decides)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = {m.group(1): m.group(2) for m in _REVISION.finditer(script.read_text())}
        if "revision" in found:
            revisions.add(found["revision"])
        if found.get("down_revision", "None") != "None":
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def stored_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it has none (a new database)."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None
