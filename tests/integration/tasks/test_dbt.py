"""dbt-core CLI tasks run for real: dbt-core and dbt-duckdb on the fixture project.

dbt is installed once per machine into a virtualenv under ``~/.cache/weir-tests`` (shared by the
pytest-xdist workers through a file lock) and reaches the tasks through their ``env`` PATH.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pytest

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine
from controlplane.engine.model import State
from controlplane.engine.ports import Store, namespace_file_path
from controlplane.engine.sandbox import SandboxSettings
from tests.conftest import EngineFactory
from tests.integration.tasks.conftest import Runner
from tests.waiting import ended

DBT = "io.kestra.plugin.dbt.cli"
# dbt writes the database with its own DuckDB, and the tests read it back with Weir's: the two
# must be one release, or the file's storage version may be one the reader does not know.
DUCKDB = metadata.version("duckdb")
REQUIREMENTS = ("dbt-core>=1.10,<1.12", "dbt-duckdb>=1.10,<1.12", f"duckdb=={DUCKDB}")
CACHE = Path.home() / ".cache" / "weir-tests" / f"dbt-core-1.10-1.11-duckdb-{DUCKDB}"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "dbt"
PROJECT = "weir_demo"
PROFILES = """
weir_demo:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: weir_demo.duckdb
      threads: 1
"""
SEED = "seed.weir_demo.raw_orders"
STG = "model.weir_demo.stg_orders"
TOTALS = "model.weir_demo.customer_totals"
AMOUNTS = "test.weir_demo.assert_amounts_above_minimum"
ALL_NODES = {
    SEED,
    STG,
    TOTALS,
    AMOUNTS,
    "test.weir_demo.not_null_stg_orders_order_id.81cfe2fe64",
    "test.weir_demo.unique_stg_orders_order_id.e3b841c71a",
    "test.weir_demo.not_null_customer_totals_customer.f66703040a",
}


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    """Task processes see the dbt virtualenv (read-only), as an operator would list it."""
    sandbox = SandboxSettings(read_only=(CACHE,), hidden=(tmp_path / "home",))
    return WorkerSettings(temp_root=tmp_path / "work", kill_grace_seconds=2.0, sandbox=sandbox)


@pytest.fixture(scope="session")
def dbt_bin() -> Path:
    """The bin directory of a virtualenv with dbt-core and dbt-duckdb, built once."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    complete = CACHE / "weir-complete"
    with (CACHE.parent / f"{CACHE.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not complete.is_file():
                _install_dbt()
                complete.write_text("\n".join(REQUIREMENTS), encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return CACHE / "bin"


def _install_dbt() -> None:
    shutil.rmtree(CACHE, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(CACHE)], check=True)
    pip = [str(CACHE / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    done = subprocess.run([*pip, *REQUIREMENTS], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"could not install {' '.join(REQUIREMENTS)}:\n{done.stderr[-4000:]}")


def dbt_env(dbt_bin: Path) -> dict[str, str]:
    return {
        "PATH": str(dbt_bin),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory holding the fixture project, as a git clone done earlier leaves it."""
    workdir = tmp_path / "wd"
    shutil.copytree(FIXTURE, workdir)
    return workdir


def cli(dbt_bin: Path, *commands: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "dbt",
        "type": f"{DBT}.DbtCLI",
        "commands": list(commands),
        "env": dbt_env(dbt_bin),
        **extra,
    }


def read_json(runner: Runner, uri: str) -> Any:
    with runner.store.files.open(uri) as stream:
        return json.load(stream)


def test_build_succeeds_with_node_outputs_logs_metrics_and_files(
    runner: Runner, dbt_bin: Path, project: Path
) -> None:
    task = cli(
        dbt_bin,
        "dbt build",
        profiles=PROFILES,
        storeManifest={"key": "manifest.json", "namespace": "{{ flow.namespace }}"},
    )
    result = runner.run(task, working_dir=project)
    assert result.state is State.SUCCESS, result.error
    outputs = result.outputs
    assert outputs["exitCode"] == 0
    nodes = outputs["nodes"]
    assert set(nodes) == ALL_NODES
    assert nodes[SEED]["status"] == "success"
    assert nodes[SEED]["adapterResponse"]["rows_affected"] == 3
    assert nodes[SEED]["message"] == "INSERT 3"
    assert {nodes[n]["status"] for n in (STG, TOTALS)} == {"success"}
    assert (nodes[AMOUNTS]["status"], nodes[AMOUNTS]["failures"]) == ("pass", 0)
    assert all(isinstance(n["executionTime"], float) for n in nodes.values())

    messages = runner.messages(result)
    assert re.search(
        r"^seed\.weir_demo\.raw_orders => success in \d+\.\d\ds, 3 rows affected: INSERT 3$",
        "\n".join(messages),
        re.M,
    )
    assert any(m.startswith(f"{AMOUNTS} => pass in ") for m in messages)
    assert any("OK created sql table model main.customer_totals" in m for m in messages)
    assert not any("\x1b" in m for m in messages)
    assert any(m.startswith("Done. PASS=7 WARN=0 ERROR=0 SKIP=0") for m in messages)

    files = outputs["outputFiles"]
    run_results = read_json(runner, files["run_results.json"])
    assert {r["unique_id"] for r in run_results["results"]} == ALL_NODES
    manifest = read_json(runner, files["manifest.json"])
    assert TOTALS in manifest["nodes"]

    with runner.store.unit() as repos:
        metrics = repos.metrics.list_metrics(runner.execution_of(result))
        stored = repos.kv.read_kv("company.team", "manifest.json")
    by_status: dict[str, float] = {}
    for metric in metrics:
        if metric.name == "nodes":
            by_status[metric.tags["status"]] = (
                by_status.get(metric.tags["status"], 0) + metric.value
            )
    assert by_status == {"success": 3, "pass": 4}
    timers = {m.tags["node"] for m in metrics if m.name == "execution.time" and m.type == "timer"}
    assert timers == ALL_NODES
    assert [(m.tags, m.value) for m in metrics if m.name == "rows.affected"] == [
        ({"node": SEED}, 3.0)
    ]
    assert stored is not None and stored.type == "JSON"
    assert TOTALS in stored.value["nodes"]

    with duckdb.connect(str(project / "weir_demo.duckdb"), read_only=True) as db:
        totals = db.sql("select customer, total from customer_totals order by customer").fetchall()
    assert totals == [("ada", 42), ("grace", 25)]


def test_a_failing_test_fails_the_task_naming_it_with_every_commands_results_kept(
    runner: Runner, dbt_bin: Path, project: Path
) -> None:
    task = cli(
        dbt_bin,
        "dbt seed",
        "dbt run",
        "dbt test --vars '{min_amount: 20}'",
        "echo not reached",
        profiles=PROFILES,
    )
    result = runner.run(task, working_dir=project)
    assert result.state is State.FAILED
    assert result.error == (
        "dbt failed with exit code 1; failed nodes: "
        f"{AMOUNTS} (fail: Got 1 result, configured to fail if != 0)"
    )
    outputs = result.outputs
    assert outputs["exitCode"] == 1
    nodes = outputs["nodes"]
    # one invocation each: the seed and the models come from the first two commands
    assert set(nodes) == ALL_NODES
    assert nodes[SEED]["status"] == "success"
    assert nodes[TOTALS]["status"] == "success"
    assert nodes[AMOUNTS]["status"] == "fail"
    assert nodes[AMOUNTS]["failures"] == 1
    assert set(outputs["outputFiles"]) == {"run_results.json", "manifest.json"}
    assert read_json(runner, outputs["outputFiles"]["run_results.json"])["results"]
    logs = [(e.level, e.message) for e in runner.logs(result)]
    assert any(
        level == "ERROR"
        and m.startswith(f"{AMOUNTS} => fail in ")
        and m.endswith(", 1 failure: Got 1 result, configured to fail if != 0")
        for level, m in logs
    )
    assert ("INFO", "not reached") not in logs


def test_project_from_namespace_files_in_a_project_dir(runner: Runner, dbt_bin: Path) -> None:
    """The project lies in ``dbt/`` of the namespace files, with its own profiles.yml."""
    for path in FIXTURE.rglob("*"):
        if path.is_file():
            name = "dbt/" + path.relative_to(FIXTURE).as_posix()
            runner.store.files.put(namespace_file_path("company.team", name), path.read_bytes())
    runner.store.files.put(
        namespace_file_path("company.team", "dbt/profiles.yml"), PROFILES.encode()
    )
    runner.store.files.put(namespace_file_path("company.team", "other/skip.sql"), b"select 1")
    task = cli(
        dbt_bin,
        "dbt build --exclude assert_amounts_above_minimum",
        "test ! -e other/skip.sql",
        "test -f dbt/target/run_results.json",
        projectDir="dbt",
        namespaceFiles={"enabled": True, "include": ["dbt/**"]},
        outputFiles=["*.duckdb"],
    )
    result = runner.run(task)
    assert result.state is State.SUCCESS, result.error
    assert set(result.outputs["nodes"]) == ALL_NODES - {AMOUNTS}
    assert {n["status"] for n in result.outputs["nodes"].values()} == {"success", "pass"}
    assert set(result.outputs["outputFiles"]) == {
        "weir_demo.duckdb",
        "run_results.json",
        "manifest.json",
    }
    assert any(
        m.startswith("dbt project directory: ") and m.endswith("/dbt")
        for m in runner.messages(result)
    )


def test_a_warning_from_dbt_ends_the_task_in_warning(
    runner: Runner, dbt_bin: Path, project: Path
) -> None:
    (project / "tests" / "assert_amounts_above_minimum.sql").write_text(
        "{{ config(severity='warn') }}\n"
        + (FIXTURE / "tests" / "assert_amounts_above_minimum.sql").read_text(),
        encoding="utf-8",
    )
    task = cli(dbt_bin, "dbt build --vars '{min_amount: 20}'", profiles=PROFILES)
    result = runner.run(task, working_dir=project)
    assert result.state is State.WARNING, result.error
    assert result.outputs["nodes"][AMOUNTS]["status"] == "warn"
    assert result.outputs["nodes"][TOTALS]["status"] == "success"
    warnings = [e.message for e in runner.logs(result) if e.level == "WARN"]
    assert any(m.startswith(f"{AMOUNTS} => warn in ") for m in warnings)


def test_legacy_build_run_and_test_share_a_working_directory(
    runner: Runner, dbt_bin: Path, project: Path
) -> None:
    env = dbt_env(dbt_bin)
    build = runner.run(
        {
            "id": "build",
            "type": f"{DBT}.Build",
            "dbtPath": str(dbt_bin / "dbt"),
            "profiles": PROFILES,
            "select": ["raw_orders"],
            "env": env,
        },
        working_dir=project,
    )
    assert build.state is State.SUCCESS, build.error
    assert (project / ".profile" / "profiles.yml").read_text() == PROFILES
    assert set(build.outputs["nodes"]) == {SEED}
    assert set(build.outputs["outputFiles"]) == {"run_results.json", "manifest.json"}

    run = runner.run(
        {"id": "run", "type": f"{DBT}.Run", "select": ["stg_orders customer_totals"], "env": env},
        working_dir=project,
    )
    assert run.state is State.SUCCESS, run.error
    assert run.outputs["nodes"].keys() == {STG, TOTALS}

    test = runner.run(
        {
            "id": "test",
            "type": f"{DBT}.Test",
            "exclude": ["assert_amounts_above_minimum"],
            "thread": 2,
            "parseRunResults": False,
            "env": env,
        },
        working_dir=project,
    )
    assert test.state is State.SUCCESS, test.error
    assert "nodes" not in test.outputs
    assert set(test.outputs["outputFiles"]) == {"manifest.json"}
    assert any(m.startswith("Done. PASS=3 WARN=0 ERROR=0") for m in runner.messages(test))


def test_profiles_map_and_load_manifest_prepare_the_working_directory(runner: Runner) -> None:
    """No dbt runs here: the commands check what dbt would find."""
    with runner.store.unit() as repos:
        repos.kv.update_kv("company.team", "manifest", {"nodes": {TOTALS: {}}}, "JSON", None)
    task = {
        "id": "dbt",
        "type": f"{DBT}.DbtCLI",
        "projectDir": "project",
        "profiles": {"weir_demo": {"target": "{{ inputs.target }}"}},
        "loadManifest": {"key": "manifest", "namespace": "{{ flow.namespace }}"},
        "commands": [
            'test "$DBT_PROFILES_DIR" = "$WORKING_DIR"',
            "grep -qx '  target: prod' profiles.yml",
            f"grep -q {TOTALS} project/target/manifest.json",
        ],
    }
    result = runner.run(task, inputs={"target": "prod"})
    assert result.state is State.SUCCESS, result.error
    # the loaded manifest was not written by dbt: it is not an output of this run
    assert result.outputs["outputFiles"] == {}
    assert result.outputs["nodes"] == {}

    missing = runner.run({**task, "loadManifest": {"key": "nope", "namespace": "company.team"}})
    assert missing.state is State.FAILED
    assert (
        "loadManifest: no manifest was found in the KV store as 'nope' of namespace 'company.team'; dbt runs without it"
        in runner.messages(missing)
    )


@pytest.fixture
def no_dbt_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.usefixtures("no_dbt_on_path")
def test_dbt_missing_fails_saying_how_to_provide_it(runner: Runner) -> None:
    result = runner.run({"id": "dbt", "type": f"{DBT}.DbtCLI", "commands": ["dbt build"]})
    assert result.state is State.FAILED
    assert result.error == (
        "dbt was not found on PATH: install dbt-core and an adapter on the worker (pip install "
        "dbt-core dbt-duckdb) and put the directory holding dbt on PATH (the task's env PATH is "
        "searched first), or install it in beforeCommands (pip install dbt-core dbt-duckdb)"
    )

    after_before = runner.run(
        {
            "id": "dbt",
            "type": f"{DBT}.DbtCLI",
            "beforeCommands": ["echo preparing"],
            "commands": ["dbt build"],
        }
    )
    assert after_before.state is State.FAILED
    assert after_before.error == result.error
    assert after_before.outputs["exitCode"] == 127


@pytest.mark.usefixtures("no_dbt_on_path")
def test_legacy_task_without_dbt_names_dbt_path(runner: Runner) -> None:
    result = runner.run({"id": "run", "type": f"{DBT}.Run"})
    assert result.state is State.FAILED
    assert result.error == (
        "dbt was found neither at dbtPath './bin/dbt' nor on PATH: install dbt-core and an "
        "adapter on the worker (pip install dbt-core dbt-duckdb) and put the directory holding "
        "dbt on PATH (the task's env PATH is searched first), set dbtPath to the dbt executable, "
        "or create it with an earlier io.kestra.plugin.dbt.cli.Setup task in the same "
        "WorkingDirectory"
    )


def _installed_versions(dbt_bin: Path) -> list[str]:
    script = (
        "from importlib.metadata import version; "
        "print(' '.join(f'{p}=={version(p)}' for p in ('dbt-core', 'dbt-duckdb')))"
    )
    done = subprocess.run([str(dbt_bin / "python"), "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


SETUP_FLOW = """
id: dbt_setup
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: setup
        type: io.kestra.plugin.dbt.cli.Setup
        namespaceFiles:
          enabled: true
        requirements: {requirements}
        profiles:
          weir_demo:
            target: dev
            outputs:
              dev:
                type: duckdb
                path: ":memory:"
      - id: build
        type: io.kestra.plugin.dbt.cli.Build
        env:
          DBT_SEND_ANONYMOUS_USAGE_STATS: "false"
          DBT_VERSION_CHECK: "false"
"""


@pytest.fixture
def engine(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[tuple[Store, Engine]]:
    sandbox = SandboxSettings(read_only=(CACHE,), hidden=(tmp_path / "home",))
    worker = WorkerSettings(temp_root=tmp_path / "work", sandbox=sandbox)
    with engine_factory.running(tmp_path / "home", tmp_path / "work", worker=worker) as found:
        yield found.store, found.engine


def test_setup_installs_dbt_for_the_next_task_of_the_working_directory(
    engine: tuple[Store, Engine], dbt_bin: Path
) -> None:
    store, running = engine
    for path in FIXTURE.rglob("*"):
        if path.is_file():
            name = path.relative_to(FIXTURE).as_posix()
            store.files.put(namespace_file_path("company.team", name), path.read_bytes())
    source = SETUP_FLOW.format(requirements=json.dumps(_installed_versions(dbt_bin)))
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "dbt_setup", source, None)
    execution = running.create_execution("company.team", "dbt_setup")
    final = ended(running, execution.id)
    runs = {run.task_id: run for run in final.task_runs}
    assert final.state is State.SUCCESS, [(r.task_id, r.state) for r in final.task_runs]
    assert set(runs["build"].outputs["nodes"]) == ALL_NODES
    with store.unit() as repos:
        messages = [entry.message for _, entry in repos.logs.list_logs(execution.id)]
    assert any(m.startswith("Done. PASS=7") for m in messages)
