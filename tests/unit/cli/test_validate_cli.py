"""``weir validate`` as a user runs it: the installed command, its exit codes and formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WEIR = str(Path(sys.executable).parent / "weir")

GOOD = """id: hello
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: Hello
"""

BAD = """id: broken
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    mesage: Hello
"""


def weir(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEIR, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "hello.yaml").write_text(GOOD)
    (tmp_path / "team" / "broken.yml").write_text(BAD)
    (tmp_path / "team" / "notes.txt").write_text("not a flow")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hidden.yaml").write_text("- not: a flow")
    return tmp_path


def test_valid_files_exit_zero(flows: Path) -> None:
    run = weir("validate", "team/hello.yaml", cwd=flows)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "1 flow file: 1 valid, 0 invalid\n"


def test_a_folder_is_walked_and_an_invalid_file_exits_one(flows: Path) -> None:
    run = weir("validate", ".", cwd=flows)
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "team/broken.yml:4:5: error at tasks[0].message: property 'message' of "
        "io.kestra.plugin.core.log.Log is required",
        "team/broken.yml:6:5: error at tasks[0].mesage: unknown property 'mesage' of "
        "io.kestra.plugin.core.log.Log; did you mean 'message'?",
        "2 flow files: 1 valid, 1 invalid",
    ]


def test_json_format_lists_every_problem(flows: Path) -> None:
    run = weir("validate", "--format", "json", "team", cwd=flows)
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["summary"] == {"files": 2, "valid": 1, "invalid": 1}
    broken = next(f for f in report["files"] if f["file"] == "team/broken.yml")
    assert broken["flow"] == "company.team/broken"
    assert [(p["line"], p["column"], p["path"], p["code"]) for p in broken["problems"]] == [
        (4, 5, "tasks[0].message", "missing"),
        (6, 5, "tasks[0].mesage", "unknown_property"),
    ]


def test_github_format_annotates_lines(flows: Path) -> None:
    run = weir("validate", "--format", "github", "team/broken.yml", cwd=flows)
    assert run.returncode == 1
    first = run.stdout.splitlines()[0]
    assert first == (
        "::error file=team/broken.yml,line=4,col=5,title=weir validate%3A tasks[0].message::"
        "property 'message' of io.kestra.plugin.core.log.Log is required"
    )


def test_a_missing_path_is_a_usage_error(flows: Path) -> None:
    run = weir("validate", "nowhere", cwd=flows)
    assert run.returncode == 2
    assert "no such file or folder: nowhere" in run.stderr


def test_unknown_option_is_a_usage_error(flows: Path) -> None:
    assert weir("validate", "--format", "xml", ".", cwd=flows).returncode == 2


def test_a_folder_without_flows_is_a_usage_error(tmp_path: Path) -> None:
    run = weir("validate", str(tmp_path))
    assert run.returncode == 2
    assert "no *.yml or *.yaml files" in run.stderr


def test_owns_turns_a_missing_subflow_into_an_error(tmp_path: Path) -> None:
    caller = GOOD.replace("id: hello", "id: caller") + (
        "  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n"
        "    namespace: company.team\n    flowId: missing\n"
    )
    (tmp_path / "caller.yaml").write_text(caller)
    assert weir("validate", str(tmp_path)).returncode == 0
    owned = weir("validate", "--owns", "company.team", str(tmp_path))
    assert owned.returncode == 1
    assert "flow company.team/missing does not exist" in owned.stdout
