"""``weir run`` and ``weir demo`` as a user runs them: the installed command, a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WEIR = str(Path(sys.executable).parent / "weir")


def weir(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    return subprocess.run(
        [WEIR, *args], capture_output=True, text=True, timeout=180, env=env, cwd=ROOT, check=False
    )


def test_run_shows_logs_and_outputs_and_exits_zero(tmp_path: Path) -> None:
    run = weir(tmp_path, "run", "flows/examples/hello.yaml", "--input", "name=Ada")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "greet INFO: Hello, Ada!" in run.stdout
    assert "output greeting = Hello, Ada" in run.stdout


def test_run_json_prints_the_final_execution(tmp_path: Path) -> None:
    run = weir(tmp_path, "run", "flows/examples/hello.yaml", "--json")
    assert run.returncode == 0, run.stderr
    execution = json.loads(run.stdout)
    assert execution["state"] == "SUCCESS"
    assert execution["outputs"] == {"greeting": "Hello, world"}
    assert [(t["taskId"], len(t["attempts"])) for t in execution["taskRuns"]] == [
        ("greet", 1),
        ("greeting", 1),
    ]


def test_a_failing_flow_exits_one(tmp_path: Path) -> None:
    flow = tmp_path / "fail.yaml"
    flow.write_text(
        "id: fail\nnamespace: company.team\ntasks:\n"
        "  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n"
        "    errorMessage: it broke\n"
    )
    run = weir(tmp_path / "home", "run", str(flow))
    assert run.returncode == 1
    assert "boom ERROR: it broke" in run.stdout
    assert "FAILED in" in run.stdout


def test_invalid_inputs_are_refused_with_the_input_named(tmp_path: Path) -> None:
    run = weir(tmp_path, "run", "flows/examples/orders_pipeline.yaml", "--input", "min_total=x")
    assert run.returncode == 1
    assert "input 'dataset_url': required URI input is missing" in run.stdout
    assert "input 'min_total': expected a number, got 'x'" in run.stdout


def test_demo_runs_the_pipeline_on_a_local_dataset(tmp_path: Path) -> None:
    run = weir(tmp_path, "demo", "--orders", "300")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "serving 300 orders at http://127.0.0.1:" in run.stdout
    assert "report INFO: Kept " in run.stdout
    assert "output top_category = " in run.stdout
