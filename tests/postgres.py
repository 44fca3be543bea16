"""A PostgreSQL server of the tests' own: ``initdb`` and ``pg_ctl`` in a temporary folder, TCP on a
free port of 127.0.0.1, trust authentication.

PostgreSQL refuses to run as root. As root (CI containers, this sandbox) the server runs as the
``postgres`` system user (which Debian's package creates), else as ``nobody``: the processes
are started with ``subprocess``'s ``user=``/``group=``, and the server folder is theirs.
Missing binaries fail whoever needs them: nothing is skipped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
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


def run_as_server(args: list[str], folder: str) -> subprocess.CompletedProcess[str]:
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


def _options(server: PostgresServer) -> str:
    return (
        f"-p {server.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={server.folder}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )


def start_server(bindir: Path) -> PostgresServer:
    account = _server_account()
    # Not under pytest's temporary folder: that one is private to root.
    folder = tempfile.mkdtemp(prefix="weir-pg-", dir="/tmp" if account else None)
    if account is not None:
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = PostgresServer(folder=folder, port=0, bindir=str(bindir))
    initdb = run_as_server(
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
        options = _options(server)
        started = run_as_server(
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


def stop_server(server: PostgresServer) -> None:
    run_as_server(
        [str(Path(server.bindir) / "pg_ctl"), "-D", server.data, "-m", "fast", "-w", "stop"],
        server.folder,
    )
    shutil.rmtree(server.folder, ignore_errors=True)


def is_running(server: PostgresServer) -> bool:
    status = run_as_server(
        [str(Path(server.bindir) / "pg_ctl"), "-D", server.data, "status"], server.folder
    )
    return status.returncode == 0


def pg_ctl(server: PostgresServer, action: str) -> None:
    """``pg_ctl stop`` (fast) or ``start`` of a server that keeps its folder: a database outage."""
    extra = ["-m", "fast"] if action == "stop" else ["-l", f"{server.folder}/server.log"]
    more = ["-o", _options(server)] if action == "start" else []
    done = run_as_server(
        [str(Path(server.bindir) / "pg_ctl"), "-D", server.data, *extra, "-w", *more, action],
        server.folder,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl {action} failed: {done.stdout}{done.stderr}")
