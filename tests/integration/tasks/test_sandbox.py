"""What a task's process meets in the sandbox: its limits, its own folders only, and the warning
a server run without the sandbox writes in every task that starts a process."""

from __future__ import annotations

import dataclasses
import socket
import threading
from pathlib import Path

from controlplane.engine.model import State
from controlplane.engine.sandbox import UNSAFE_WARNING
from tests.integration.tasks.conftest import Runner

SHELL = "io.kestra.plugin.scripts.shell.Commands"
PYTHON = "io.kestra.plugin.scripts.python.Script"


def _limited(runner: Runner, **limits: int) -> None:
    sandbox = dataclasses.replace(runner.settings.sandbox, **limits)
    runner.settings = dataclasses.replace(runner.settings, sandbox=sandbox)


def test_memory_beyond_the_limit_is_refused(runner: Runner) -> None:
    _limited(runner, max_memory_bytes=256 << 20)
    result = runner.run(
        {"id": "py", "type": PYTHON, "script": "block = bytearray(512 << 20)\nprint('allocated')"}
    )
    assert result.state is State.FAILED
    assert "MemoryError" in "\n".join(runner.messages(result))
    assert "allocated" not in runner.messages(result)


FORKS = """\
import os, time
made = 0
for _ in range(60):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    made += 1
print("forked", made)
"""


def test_processes_beyond_the_limit_are_refused(runner: Runner) -> None:
    _limited(runner, max_processes=20)
    result = runner.run({"id": "py", "type": PYTHON, "script": FORKS})
    assert result.state is State.SUCCESS, runner.messages(result)
    forked = [m for m in runner.messages(result) if m.startswith("forked ")]
    assert forked and int(forked[0].split()[1]) < 20, runner.messages(result)


def test_only_its_own_working_directory_is_there(runner: Runner) -> None:
    earlier = runner.run({"id": "a", "type": SHELL, "commands": ["echo kept > kept.txt"]})
    assert earlier.state is State.SUCCESS
    home = runner.settings.temp_root.parent / "home"
    result = runner.run(
        {
            "id": "b",
            "type": SHELL,
            "commands": [
                f"ls {runner.settings.temp_root} | wc -l",
                f"test -e {home}/weir.db && echo database || echo no-database",
                "echo $(id -u)",
            ],
        }
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    count, database, uid = runner.messages(result)
    assert count == "1"  # its own directory, none of the others
    assert database == "no-database"
    assert uid != "0"


def test_without_the_sandbox_every_task_that_starts_a_process_says_so(runner: Runner) -> None:
    _limited(runner)
    sandbox = dataclasses.replace(runner.settings.sandbox, enabled=False)
    runner.settings = dataclasses.replace(runner.settings, sandbox=sandbox)
    result = runner.run({"id": "sh", "type": SHELL, "commands": ["echo ran"]})
    assert result.state is State.SUCCESS
    assert runner.messages(result) == [UNSAFE_WARNING, "ran"]


def test_a_socket_the_operator_lists_can_be_reached(runner: Runner, tmp_path: Path) -> None:
    """As a Docker engine's socket would be, for the Docker task runner's docker command."""
    path = tmp_path / "engine" / "engine.sock"
    path.parent.mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    path.chmod(0o777)
    server.listen(1)

    def answer() -> None:
        connection, _ = server.accept()
        connection.sendall(b"pong\n")
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    sandbox = dataclasses.replace(runner.settings.sandbox, read_only=(path,))
    runner.settings = dataclasses.replace(runner.settings, sandbox=sandbox)
    script = (
        "import socket\nclient = socket.socket(socket.AF_UNIX)\n"
        f"client.connect({str(path)!r})\nprint(client.recv(10).decode().strip())"
    )
    try:
        result = runner.run({"id": "py", "type": PYTHON, "script": script})
    finally:
        server.close()
    assert result.state is State.SUCCESS, runner.messages(result)
    assert runner.messages(result) == ["pong"]
