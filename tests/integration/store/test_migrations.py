"""Opening a store migrates its database; settings come from the environment."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from controlplane.store import SqlStore, StoreConfigError, StoreSettings, open_store
from controlplane.store.database import (
    create_store_engine,
    database_url,
    head_revision,
    migration_config,
)
from controlplane.store.tables import STORE_METADATA

TABLES = {
    "namespaces", "flows", "executions", "task_runs", "logs", "metrics", "kv", "secrets",
    "namespace_files", "api_tokens", "commands",
    "trigger_states", "trigger_fires", "execution_ends", "execution_leases", "work_queue",
}  # fmt: skip
HEAD = "0007"


def test_opening_an_empty_database_creates_the_schema_of_the_tables(store: SqlStore) -> None:
    with store.engine.connect() as connection:
        assert TABLES | {"alembic_version"} <= set(inspect(connection).get_table_names())
        assert compare_metadata(MigrationContext.configure(connection), STORE_METADATA) == []
        assert MigrationContext.configure(connection).get_current_revision() == HEAD


def test_the_migrations_build_the_schema_of_the_tables(store_settings: StoreSettings) -> None:
    """An empty database is created from the tables and stamped; one that migrates must end
    with the very same schema."""
    engine = create_store_engine(database_url(store_settings.url))
    try:
        with engine.begin() as connection:
            command.upgrade(migration_config(connection), "head")
            assert set(inspect(connection).get_table_names()) >= TABLES
            assert compare_metadata(MigrationContext.configure(connection), STORE_METADATA) == []
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
    finally:
        engine.dispose()


def test_opening_again_keeps_the_data_and_migrates_nothing(
    store: SqlStore, store_settings: StoreSettings
) -> None:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "hello", "id: hello\n", None)
    store.close()
    reopened = open_store(store_settings)
    try:
        with reopened.unit() as repos:
            assert [f.flow_id for f in repos.flows.list_flows()] == ["hello"]
        with reopened.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
    finally:
        reopened.close()


def test_a_database_of_the_first_schema_is_upgraded_with_its_flows(tmp_path: Path) -> None:
    settings = StoreSettings(home=tmp_path)
    engine = create_store_engine(database_url(settings.url))
    with engine.begin() as connection:
        command.upgrade(migration_config(connection), "0001")
        connection.exec_driver_sql(
            "INSERT INTO flows (namespace, flow_id, revision, source, managed_by, deleted, "
            "latest, updated) VALUES ('company', 'old', 1, 'id: old', NULL, 0, 1, "
            "'2025-01-01 00:00:00')"
        )
    engine.dispose()
    store = open_store(settings)
    try:
        with store.unit() as repos:
            (old,) = repos.flows.list_flows()
        assert (old.flow_id, old.labels) == ("old", {})
    finally:
        store.close()


def test_embedded_default_keeps_sqlite_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = open_store(StoreSettings(home=tmp_path))
    try:
        with store.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        store.close()
    assert (tmp_path / "weir.db").exists()


def test_embedded_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    for _ in range(2):
        open_store(StoreSettings(home=tmp_path)).close()
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(base64.b64decode(key_file.read_text())) == 32
    first = key_file.read_text()
    open_store(StoreSettings(home=tmp_path)).close()
    assert key_file.read_text() == first


def test_settings_from_the_environment(tmp_path: Path) -> None:
    key = os.urandom(32)
    settings = StoreSettings.from_env(
        {
            "WEIR_HOME": str(tmp_path),
            "WEIR_DATABASE_URL": "postgresql://weir:pw@db.example/weir",
            "WEIR_SECRET_KEY": base64.b64encode(key).decode(),
        }
    )
    assert settings.secret_key == key
    assert settings.storage_root == tmp_path / "storage"
    assert database_url(settings.url).drivername == "postgresql+psycopg"
    defaults = StoreSettings.from_env({})
    assert defaults.home == Path.cwd() / ".weir" and defaults.database_url is None
    assert defaults.url.endswith("/.weir/weir.db")


def test_a_malformed_secret_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(StoreConfigError, match="base64 encoding of 32 random bytes") as caught:
        StoreSettings.from_env({"WEIR_SECRET_KEY": "not-a-key-at-all"})
    assert "not-a-key-at-all" not in str(caught.value)


def test_a_shared_database_needs_a_configured_key(tmp_path: Path) -> None:
    settings = StoreSettings(home=tmp_path, database_url="postgresql://weir@127.0.0.1:1/weir")
    with pytest.raises(StoreConfigError, match="WEIR_SECRET_KEY is required"):
        open_store(settings)


def test_an_unsupported_database_is_refused_without_its_password(tmp_path: Path) -> None:
    settings = StoreSettings(
        home=tmp_path, database_url="mysql://root:hunter2@db/weir", secret_key=os.urandom(32)
    )
    with pytest.raises(StoreConfigError, match="not supported") as caught:
        open_store(settings)
    assert "hunter2" not in str(caught.value)


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(migration_config()).get_current_head()
    assert head_revision() == HEAD


def test_a_database_at_the_head_opens_without_running_alembic(
    store: SqlStore, store_settings: StoreSettings
) -> None:
    store.close()
    key = store_settings.secret_key
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from controlplane.store import StoreSettings, open_store\n"
        f"settings = StoreSettings(home=Path({str(store_settings.home)!r}), "
        f"database_url={store_settings.database_url!r}, secret_key={key!r})\n"
        "open_store(settings).close()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('alembic'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
