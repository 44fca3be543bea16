"""Script tasks as real local processes: outputs protocol, files, exit codes, kills."""

from __future__ import annotations

import dataclasses
import re
import secrets
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from controlplane.engine.attempt_context import AttemptContext
from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.model import State
from controlplane.engine.process import CancelEvent
from tests.integration.tasks.conftest import Runner
from tests.waiting import wait_until

SHELL = "io.kestra.plugin.scripts.shell.Commands"
SHELL_SCRIPT = "io.kestra.plugin.scripts.shell.Script"
PYTHON = "io.kestra.plugin.scripts.python.Script"
PYTHON_COMMANDS = "io.kestra.plugin.scripts.python.Commands"
PROCESS = {"type": "io.kestra.plugin.core.runner.Process"}


def _running(marker: str) -> list[int]:
    """The live processes whose command line is ``sleep <marker>``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline[:2] == [b"sleep", marker.encode()] and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_python_script_outputs_vars_metrics_and_line_counts(runner: Runner) -> None:
    script = """
import json, sys
print("hello")
print('::' + json.dumps({"outputs": {"answer": 42, "name": "x"}}) + '::')
print('::' + json.dumps({"metrics": [{"name": "rows", "type": "counter", "value": 3, "tags": {"t": "a"}}]}) + '::')
print("oops", file=sys.stderr)
"""
    result = runner.run({"id": "py", "type": PYTHON, "script": script, "taskRunner": PROCESS})
    assert result.state is State.SUCCESS
    assert result.outputs["exitCode"] == 0
    assert result.outputs["vars"] == {"answer": 42, "name": "x"}
    assert result.outputs["stdOutLineCount"] == 3
    assert result.outputs["stdErrLineCount"] == 1
    # stdout and stderr are two pipes: their relative order is not kept
    assert sorted((e.level, e.message) for e in runner.logs(result)) == [
        ("ERROR", "oops"),
        ("INFO", "hello"),
    ]
    with runner.store.unit() as repos:
        metrics = repos.metrics.list_metrics(runner.execution_of(result))
    assert [(m.name, m.value, m.tags) for m in metrics] == [("rows", 3.0, {"t": "a"})]


def test_python_runs_with_the_workers_interpreter(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "py",
            "type": PYTHON_COMMANDS,
            "commands": ["python -c 'import pydantic, sys; print(sys.prefix)'"],
        }
    )
    assert result.state is State.SUCCESS


def test_exit_code_fails_the_task(runner: Runner) -> None:
    result = runner.run({"id": "sh", "type": SHELL, "commands": ["echo before", "exit 3"]})
    assert result.state is State.FAILED
    assert result.error == "Command failed with exit code 3"
    assert result.outputs["exitCode"] == 3


def test_fail_fast_stops_at_the_first_failing_command(runner: Runner) -> None:
    result = runner.run({"id": "sh", "type": SHELL, "commands": ["false", "echo after"]})
    assert result.state is State.FAILED
    assert "after" not in runner.messages(result)


def test_input_files_and_output_files_round_trip_through_storage(runner: Runner) -> None:
    producer = runner.item({"id": "r", "type": "io.kestra.plugin.core.debug.Return"})
    ctx = AttemptContext(producer, runner.store, runner.settings, default_renderer())
    data_uri = ctx.put_file("data.csv", b"a,b\n1,2\n")
    result = runner.run(
        {
            "id": "sh",
            "type": SHELL_SCRIPT,
            "inputFiles": {"in.csv": data_uri, "conf/inline.txt": "inline {{ inputs.x }}"},
            "outputFiles": ["*.out", "**.json"],
            "beforeCommands": ["test -f in.csv"],
            "script": (
                "cat in.csv conf/inline.txt > result.out\n"
                "mkdir -p sub && echo '{}' > sub/x.json\n"
                'echo skipped > other.txt\necho kept > "$OUTPUT_DIR/extra.txt"'
            ),
        },
        inputs={"x": 7},
        execution_id=producer.execution_id,
    )
    assert result.state is State.SUCCESS, result.error
    files = result.outputs["outputFiles"]
    assert sorted(files) == ["extra.txt", "result.out", "sub/x.json"]
    with runner.store.files.open(files["result.out"]) as stream:
        assert stream.read() == b"a,b\n1,2\ninline 7"
    assert files["result.out"].startswith(
        f"kestra:///company/team/flow/executions/{producer.execution_id}/tasks/sh/"
    )


def test_input_files_may_be_a_json_string(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "sh",
            "type": SHELL,
            "inputFiles": '{"a.txt": "from json"}',
            "commands": ["cat a.txt"],
        }
    )
    assert runner.messages(result) == ["from json"]


def test_namespace_files_are_copied_into_the_working_directory(runner: Runner) -> None:
    runner.store.files.put("company/team/_files/scripts/tool.sh", b"echo tool ran")
    runner.store.files.put("company/team/_files/other/skip.sh", b"echo no")
    result = runner.run(
        {
            "id": "sh",
            "type": SHELL,
            "namespaceFiles": {"enabled": True, "include": ["scripts/**"]},
            "commands": ["sh scripts/tool.sh", "test ! -e other/skip.sh"],
        }
    )
    assert result.state is State.SUCCESS, result.error
    assert runner.messages(result) == ["tool ran"]


def test_env_and_rendering_reach_the_process(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "sh",
            "type": SHELL,
            "env": {"GREETING": "hi {{ inputs.who }}"},
            "commands": [
                'echo "$GREETING from {{ workingDir }}" | grep -q "$WORKING_DIR"',
                "echo $GREETING",
            ],
        },
        inputs={"who": "Ada"},
    )
    assert result.state is State.SUCCESS, result.error
    assert runner.messages(result) == ["hi Ada"]


def test_weirs_own_settings_are_not_passed_to_scripts(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIR_SECRET_KEY", "do-not-leak")
    result = runner.run({"id": "sh", "type": SHELL, "commands": ['echo "key=$WEIR_SECRET_KEY"']})
    assert runner.messages(result) == ["key="]


def test_docker_runner_without_an_engine_fails_and_runs_nothing(
    runner: Runner, tmp_path: Path
) -> None:
    socket_path = tmp_path / "no-docker.sock"
    result = runner.run(
        {
            "id": "sh",
            "type": SHELL,
            "taskRunner": {
                "type": "io.kestra.plugin.scripts.runner.docker.Docker",
                "host": f"unix://{socket_path}",
            },
            "containerImage": "ubuntu",
            "commands": ["echo ran"],
        }
    )
    assert result.state is State.FAILED
    assert f"no Docker engine answers at unix://{socket_path}" in (result.error or "")
    assert "ran" not in runner.messages(result)


def test_container_image_alone_runs_on_the_process_runner(runner: Runner) -> None:
    result = runner.run(
        {"id": "sh", "type": SHELL, "containerImage": "ubuntu", "commands": ["echo ran"]}
    )
    assert result.state is State.SUCCESS
    assert runner.messages(result)[-1] == "ran"
    assert "the image is not used" in runner.messages(result)[0]


def test_warning_on_stderr_logs_warnings_and_ends_in_warning(runner: Runner) -> None:
    result = runner.run(
        {"id": "sh", "type": SHELL, "warningOnStdErr": True, "commands": ["echo careful >&2"]}
    )
    assert result.state is State.WARNING
    assert [(e.level, e.message) for e in runner.logs(result)] == [("WARN", "careful")]


def test_timeout_kills_the_children_of_the_script(runner: Runner) -> None:
    # The sandbox has its own PID namespace: the child is found on the host by its command line.
    marker = f"100.{secrets.randbelow(10**6)}"
    started = time.monotonic()
    result = runner.run(
        {"id": "sh", "type": SHELL, "commands": [f"sleep {marker} &", "echo child", "wait"]},
        timeout=timedelta(seconds=1),
    )
    assert result.state is State.FAILED
    assert "Timeout after PT1S" in (result.error or "")
    assert time.monotonic() - started < 10
    assert "child" in runner.messages(result)
    # A child left alive would sleep 100 s: the wait gives up after 60 s without a change.
    wait_until(lambda: _running(marker), lambda pids: not pids, "the child to be gone", stall=60)


def test_kill_from_outside_ends_the_attempt_killed(runner: Runner) -> None:
    cancelled = CancelEvent()
    item = runner.item({"id": "sh", "type": SHELL, "commands": ["echo started", "sleep 100"]})
    threading.Timer(0.5, cancelled.set).start()
    started = time.monotonic()
    result = run_attempt(item, runner.store, runner.settings, cancelled=cancelled)
    assert result.state is State.KILLED
    assert time.monotonic() - started < 5


def test_working_directory_is_removed_unless_shared(runner: Runner, tmp_path: Path) -> None:
    result = runner.run({"id": "sh", "type": SHELL, "commands": ["pwd"]})
    private = Path(runner.messages(result)[0])
    assert not private.exists()
    shared = tmp_path / "shared"
    shared.mkdir()
    runner.run({"id": "sh", "type": SHELL, "commands": ["echo x > kept.txt"]}, working_dir=shared)
    assert (shared / "kept.txt").read_text() == "x\n"


def test_failed_dependency_install_fails_clearly(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "py",
            "type": PYTHON,
            "dependencies": ["/nonexistent/weir-missing-package"],
            "script": "print(1)",
        }
    )
    assert result.state is State.FAILED
    assert re.match(
        r"Could not install the Python dependencies .*weir-missing-package", result.error or ""
    )


def _wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel, so that pip installs it without reaching an index."""
    wheel = folder / "weirdemo-1.0-py3-none-any.whl"
    files = {
        "weirdemo/__init__.py": "VALUE = 'installed'\n",
        "weirdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: weirdemo\nVersion: 1.0\n",
        "weirdemo-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: weir-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in [*files, "weirdemo-1.0.dist-info/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in {**files, "weirdemo-1.0.dist-info/RECORD": record}.items():
            archive.writestr(name, text)
    return wheel


def test_dependencies_are_installed_into_a_private_path(runner: Runner, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    # The sandbox shows a host folder only when the operator lists it.
    sandbox = dataclasses.replace(runner.settings.sandbox, read_only=(wheels,))
    runner.settings = dataclasses.replace(runner.settings, sandbox=sandbox)
    result = runner.run(
        {
            "id": "py",
            "type": PYTHON,
            "dependencies": [str(_wheel(wheels))],
            "script": "import weirdemo; print(weirdemo.VALUE)",
        },
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    messages = runner.messages(result)
    assert messages[0].startswith("Installing Python dependencies")
    assert messages[-1] == "installed"
    assert list(runner.settings.temp_root.iterdir()) == []
