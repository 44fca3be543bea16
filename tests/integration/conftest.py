"""Real services for the integration tests: a PostgreSQL server the tests start themselves.

One server per test run, shared by the pytest-xdist workers: the first worker that needs it runs
``initdb`` and ``pg_ctl start`` in a temporary folder (socket there too, TCP on a free port of
127.0.0.1, trust authentication), each worker creates its own database in it, and the last
worker to finish stops it. A lock file and a small JSON state next to the workers' temporary
folders coordinate them.

PostgreSQL refuses to run as root. As root (CI containers, this sandbox) the server runs as the
``postgres`` system user (which Debian's package creates), else as ``nobody``: the processes
are started with ``subprocess``'s ``user=``/``group=``, and the server folder is theirs.

Missing binaries fail the tests that need them, in CI and outside it: nothing is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import pytest

SUPERUSER = "weir"
INSTALL_HINT = (
    "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; "
    "macOS: brew install postgresql) and put the folder of initdb and pg_ctl on PATH"
)


@dataclass
class PostgresServer:
    folder: str
    port: int
    bindir: str
    users: int = 0

    @property
    def data(self) -> str:
        return str(Path(self.folder) / "data")

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        )


def postgres_bindir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else where Debian installs them."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=str(Path(initdb).parent)):
        return Path(initdb).parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(re.sub(r"\D", "", path.parent.name) or 0),
    )
    for folder in reversed(debian):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    where = " (CI=true: nothing is skipped in CI)" if os.environ.get("CI") == "true" else ""
    pytest.fail(
        f"the PostgreSQL tests need initdb and pg_ctl, which are not installed{where}; "
        + INSTALL_HINT,
        pytrace=False,
    )


def _server_account() -> pwd.struct_passwd | None:
    """Who runs the server: None for the current user, an unprivileged account under root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    pytest.fail(
        "the tests run as root, which PostgreSQL refuses, and there is neither a 'postgres' "
        "nor a 'nobody' account to run it as; create one (useradd --system postgres)",
        pytrace=False,
    )


def _run_as_server(args: list[str], folder: str) -> subprocess.CompletedProcess[str]:
    account = _server_account()
    return subprocess.run(
        args,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
        user=account.pw_uid if account else None,
        group=account.pw_gid if account else None,
        extra_groups=[] if account else None,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(bindir: Path) -> PostgresServer:
    account = _server_account()
    # Not under pytest's temporary folder: that one is private to root.
    folder = tempfile.mkdtemp(prefix="weir-pg-", dir="/tmp" if account else None)
    if account is not None:
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = PostgresServer(folder=folder, port=0, bindir=str(bindir))
    initdb = _run_as_server(
        [
            *(str(bindir / "initdb"), "-D", server.data, "-U", SUPERUSER, "-A", "trust"),
            *("-E", "UTF8", "--locale=C", "--no-sync"),
        ],
        folder,
    )
    if initdb.returncode != 0:
        pytest.fail(f"initdb failed:\n{initdb.stdout}{initdb.stderr}", pytrace=False)
    for _ in range(3):
        server.port = _free_port()
        options = (
            f"-p {server.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        started = _run_as_server(
            [
                *(str(bindir / "pg_ctl"), "-D", server.data, "-l", f"{folder}/server.log"),
                *("-w", "-t", "60", "-o", options, "start"),
            ],
            folder,
        )
        if started.returncode == 0:
            return server
    log = Path(folder, "server.log").read_text(errors="replace")
    pytest.fail(f"PostgreSQL did not start:\n{started.stderr}\n{log}", pytrace=False)


def _stop(server: PostgresServer) -> None:
    _run_as_server(
        [str(Path(server.bindir) / "pg_ctl"), "-D", server.data, "-m", "fast", "-w", "stop"],
        server.folder,
    )
    shutil.rmtree(server.folder, ignore_errors=True)


def _running(server: PostgresServer) -> bool:
    status = _run_as_server(
        [str(Path(server.bindir) / "pg_ctl"), "-D", server.data, "status"], server.folder
    )
    return status.returncode == 0


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
            if server is None or not _running(server):
                server = _start(bindir)
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
            _stop(server)

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
