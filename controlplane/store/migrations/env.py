"""Alembic environment: migrates the connection ``database.upgrade`` hands over.

Run from the ``alembic`` command instead (e.g. to write a new revision with
``alembic -c <ini with script_location> revision``), it connects to the database that
``StoreSettings.from_env()`` names.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from controlplane.store.database import create_store_engine, database_url
from controlplane.store.settings import StoreSettings
from controlplane.store.tables import STORE_METADATA

# Any number, the same in every process: concurrent starts on PostgreSQL migrate one at a time.
MIGRATION_LOCK = 7_262_534


def run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
    context.configure(
        connection=connection,
        target_metadata=STORE_METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        run(given)
        return
    url = database_url(StoreSettings.from_env().url)
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=STORE_METADATA, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


main()
