"""Real services for the integration tests: a PostgreSQL server the tests start themselves.

One server per test run, shared by the pytest-xdist workers: the first worker that needs it runs
``initdb`` and ``pg_ctl start`` in a temporary folder (socket there too, TCP on a free port of
127.0.0.1, trust authentication), each worker creates its own database in it, and the last
worker to finish stops it. A lock file and a small JSON state next to the workers' temporary
folders coordinate them.

How the server is started (and run as an unprivileged account under root): tests/postgres.py.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import psycopg
import pytest

from tests.postgres import (
    PostgresServer,
    is_running,
    postgres_bindir,
    start_server,
    stop_server,
)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class SharedServer:
    """The run's server, started by the first worker that asks and stopped by the last."""

    def __init__(self, shared: Path) -> None:
        self._lock = shared / "postgres.lock"
        self._state = shared / "postgres.json"

    def acquire(self, bindir: Path) -> PostgresServer:
        with _locked(self._lock):
            server = self._read()
            if server is None or not is_running(server):
                server = start_server(bindir)
            server.users += 1
            self._state.write_text(json.dumps(asdict(server)))
            return server

    def release(self) -> None:
        with _locked(self._lock):
            server = self._read()
            if server is None:
                return
            server.users -= 1
            if server.users > 0:
                self._state.write_text(json.dumps(asdict(server)))
                return
            self._state.unlink()
            stop_server(server)

    def _read(self) -> PostgresServer | None:
        if not self._state.exists():
            return None
        return PostgresServer(**json.loads(self._state.read_text()))


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a database of this worker's own on the run's PostgreSQL server."""
    bindir = postgres_bindir()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base = tmp_path_factory.getbasetemp()
    shared = SharedServer(base.parent if worker != "main" else base)
    server = shared.acquire(bindir)
    database = "weir_" + re.sub(r"\W", "_", worker)
    try:
        with server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
            admin.execute(f'CREATE DATABASE "{database}"')
        yield server.url(database)
        with server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        shared.release()


@pytest.fixture
def postgres_url(postgres: str) -> Iterator[str]:
    """An empty schema of the worker's database for one test, dropped after it."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
