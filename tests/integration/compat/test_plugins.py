"""A Python package adds task and condition types through the ``weir.plugins`` entry point:
the example plugin of tests/fixtures/plugins is installed (into a folder of its own, not into
the project's environment) and ``weir validate`` / ``weir run`` use its types."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "tests" / "fixtures" / "plugins" / "weir-example-plugin"
WEIR = str(Path(sys.executable).parent / "weir")

FLOW = """
id: shout
namespace: company.team
inputs:
  - id: word
    type: STRING
    defaults: hello
tasks:
  - id: loud
    type: io.example.text.Shout
    text: "{{ inputs.word }}"
    times: 2
  - id: legacy_name
    type: io.example.text.Yell
    text: again
triggers:
  - id: after_upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.example.condition.InputEquals
        input: word
        value: hello
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("plugin-site")
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    install += ["--no-build-isolation", "--no-index", "--target", str(target), str(EXAMPLE)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    yield target


def _weir(home: Path, site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [WEIR, *args], capture_output=True, text=True, timeout=180, env=env, check=False
    )


def test_without_the_plugin_its_types_are_unknown(tmp_path: Path) -> None:
    flow = tmp_path / "shout.yaml"
    flow.write_text(FLOW)
    run = _weir(tmp_path, None, "validate", str(flow))
    assert run.returncode == 1
    assert "unknown task type 'io.example.text.Shout'" in run.stdout
    assert "unknown condition type 'io.example.condition.InputEquals'" in run.stdout


def test_an_installed_plugin_adds_a_task_type_that_runs(tmp_path: Path, site: Path) -> None:
    flow = tmp_path / "shout.yaml"
    flow.write_text(FLOW)
    assert _weir(tmp_path, site, "validate", str(flow)).returncode == 0
    run = _weir(tmp_path, site, "run", str(flow))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "loud INFO: HELLO HELLO" in run.stdout
    assert "legacy_name INFO: AGAIN" in run.stdout


def test_a_plugin_condition_is_evaluated_by_its_check(tmp_path: Path, site: Path) -> None:
    script = (
        "import sys\n"
        "from controlplane.engine.conditions import test\n"
        "from controlplane.engine.attempt_functions import default_renderer\n"
        "from controlplane.spec.validate import validate_text\n"
        "flow = validate_text(open(sys.argv[1]).read()).flow\n"
        "(condition,) = flow.triggers[0].conditions\n"
        "for word in ('hello', 'bye'):\n"
        "    print(word, test(condition, {'inputs': {'word': word}}, default_renderer()))\n"
    )
    flow = tmp_path / "shout.yaml"
    flow.write_text(FLOW)
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", script, str(flow)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert run.stdout.split("\n")[:2] == ["hello True", "bye False"], run.stderr


def test_a_plugin_that_fails_to_load_is_named_and_skipped(tmp_path: Path) -> None:
    broken = tmp_path / "site"
    (broken / "broken_plugin").mkdir(parents=True)
    (broken / "broken_plugin" / "__init__.py").write_text("raise RuntimeError('no luck')\n")
    info = broken / "broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[weir.plugins]\nbroken = broken_plugin\n")
    flow = tmp_path / "shout.yaml"
    flow.write_text(FLOW)
    run = _weir(tmp_path, broken, "validate", str(flow))
    assert run.returncode == 1
    assert "unknown task type 'io.example.text.Shout'" in run.stdout
    assert "the Weir plugin 'broken' (broken_plugin) did not load: no luck" in run.stderr
