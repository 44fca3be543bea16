"""``weir execution start|show|list`` and ``weir logs`` as a user runs them, against the real
``weir server standalone`` process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.client import WeirClient
from tests.standalone import WEIR, standalone
from tests.waiting import ended_through, wait_until

NS = "cli.executions"
SECRET = "pa55-Never-Shown"
FLOWS = {
    "greet": f"""id: greet
namespace: {NS}
inputs:
  - id: name
    type: STRING
  - id: password
    type: SECRET
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello, {{{{ inputs.name }}}}!"
  - id: quiet
    type: io.kestra.plugin.core.log.Log
    level: DEBUG
    message: "a detail"
  - id: answer
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.name }}}} uses {{{{ inputs.password }}}}"
outputs:
  - id: greeting
    type: STRING
    value: "{{{{ outputs.answer.value }}}}"
""",
    "broken": f"""id: broken
namespace: {NS}
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: the warehouse is closed
""",
    "waiting": f"""id: waiting
namespace: {NS}
tasks:
  - id: before
    type: io.kestra.plugin.core.log.Log
    message: before the pause
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: after the pause
""",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    with standalone(env, home) as (url, output):
        with WeirClient(url, retries=0) as client:
            for source in FLOWS.values():
                client.flows.create(source)
        yield url
    assert SECRET not in "".join(output)


def weir(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEIR_URL": url}
    env.pop("WEIR_TOKEN", None)
    return subprocess.run(
        [WEIR, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False
    )


def start(server: str, tmp_path: Path, *args: str) -> str:
    """Start an execution of greet without waiting; its id."""
    done = weir("execution", "start", NS, "greet", *args, "--json", url=server, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    execution_id: str = json.loads(done.stdout)["id"]
    return execution_id


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_start_wait_shows_the_result_and_show_reads_it_again(server: str, tmp_path: Path) -> None:
    done = weir(
        "execution", "start", NS, "greet", "-i", "name=Ada", "-i", f"password={SECRET}",
        "--wait", url=server, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("execution ") and f"of {NS}/greet (revision 1)" in first
    execution_id = first.split()[1]
    shown = weir("execution", "show", execution_id, url=server, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for text in (done.stdout, shown.stdout):
        assert "state     SUCCESS after " in text
        assert "  name: Ada" in text
        assert "  password: ********" in text
        assert "  greeting: Ada uses ********" in text
        runs = [line.split() for line in text.splitlines() if line.startswith("  SUCCESS")]
        assert [run[1] for run in runs] == ["hello", "quiet", "answer"]
        assert all(run[-1] in ("ms", "s") for run in runs)
        assert SECRET not in text


def test_the_json_of_an_execution_masks_secret_inputs(server: str, tmp_path: Path) -> None:
    execution_id = start(server, tmp_path, "-i", "name=Bea", "-i", f"password={SECRET}")
    with WeirClient(server, retries=0) as client:
        assert ended_through(client.executions, execution_id).state == "SUCCESS"
    shown = weir("execution", "show", execution_id, "--json", url=server, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["id"] == execution_id and document["state"]["current"] == "SUCCESS"
    assert document["inputs"] == {"name": "Bea", "password": "********"}
    assert document["outputs"] == {"greeting": "Bea uses ********"}
    answer = next(run for run in document["taskRunList"] if run["taskId"] == "answer")
    assert answer["outputs"] == {"value": "Bea uses ********"}
    listed = weir("execution", "list", "--flow", "greet", "--json", url=server, cwd=tmp_path)
    assert listed.returncode == 0 and execution_id in listed.stdout
    assert SECRET not in shown.stdout + listed.stdout


def test_list_filters_by_flow_state_and_limit(server: str, tmp_path: Path) -> None:
    failed = weir("execution", "start", NS, "broken", "--wait", url=server, cwd=tmp_path)
    assert failed.returncode == 1
    assert "state     FAILED" in failed.stdout and "the warehouse is closed" in failed.stdout
    failed_id = failed.stdout.split()[1]
    for _ in range(2):
        start(server, tmp_path, "-i", "name=Cy", "-i", "password=x")

    rows = weir(
        "execution", "list", "--namespace", NS, "--state", "FAILED", url=server, cwd=tmp_path
    )
    assert rows.returncode == 0, rows.stderr
    lines = rows.stdout.splitlines()
    assert lines[0].split() == ["ID", "FLOW", "STATE", "STARTED", "DURATION"]
    assert [line.split()[:3] for line in lines[1:]] == [[failed_id, f"{NS}/broken", "FAILED"]]

    limited = weir("execution", "list", "--flow", "greet", "--limit", "1", url=server, cwd=tmp_path)
    assert limited.returncode == 0 and len(limited.stdout.splitlines()) == 2
    assert "--limit N shows more" in limited.stderr


def test_logs_filter_by_task_and_level(server: str, tmp_path: Path) -> None:
    execution_id = start(server, tmp_path, "-i", "name=Dee", "-i", "password=x")
    with WeirClient(server, retries=0) as client:
        ended_through(client.executions, execution_id)
    every = weir("logs", execution_id, url=server, cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    assert "INFO  hello: Hello, Dee!" in every.stdout and "DEBUG quiet: a detail" in every.stdout
    info = weir("logs", execution_id, "--level", "info", url=server, cwd=tmp_path)
    assert "Hello, Dee!" in info.stdout and "a detail" not in info.stdout
    one = weir("logs", execution_id, "--task", "quiet", "--json", url=server, cwd=tmp_path)
    assert [json.loads(line)["message"] for line in one.stdout.splitlines()] == ["a detail"]


def test_logs_follow_prints_lines_as_they_come_until_the_end(server: str, tmp_path: Path) -> None:
    with WeirClient(server, retries=0) as client:
        paused = client.executions.create(NS, "waiting")
        seen = wait_until(
            lambda: client.executions.get(paused.id),
            lambda execution: execution.state == "PAUSED" or execution.terminal,
            f"execution {paused.id} to pause",
        )
        assert seen.state == "PAUSED", seen.raw
        env = {**os.environ, "WEIR_URL": server}
        follower = subprocess.Popen(
            [WEIR, "logs", paused.id, "--follow"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert follower.stdout is not None and follower.stderr is not None
        assert "before the pause" in follower.stdout.readline()
        client.executions.resume(paused.id)
        rest, errors = follower.communicate(timeout=60)
    assert follower.returncode == 0, errors
    assert "after the pause" in rest
    assert f"execution {paused.id} ended SUCCESS" in errors


def test_an_unknown_id_is_one_line_naming_the_server(server: str, tmp_path: Path) -> None:
    for command in (["execution", "show", "nope"], ["logs", "nope"]):
        done = weir(*command, url=server, cwd=tmp_path)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip().splitlines() == [
            f"weir {command[0]}: execution nope does not exist on the server at {server}"
        ]


def test_an_unreachable_server_names_its_url_and_weir_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    for command in (["execution", "list"], ["logs", "some-id", "--follow"]):
        done = weir(*command, url=url, cwd=tmp_path)
        assert done.returncode == 1
        (line,) = done.stderr.strip().splitlines()
        assert f"cannot reach the Weir server at {url}: connection refused" in line
        assert "WEIR_URL=" in line
