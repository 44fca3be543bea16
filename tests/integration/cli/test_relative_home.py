"""The default home is relative (``./.weir``): every path built from it must still lead back to it
once a task runs in a working directory of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from controlplane.store.settings import StoreSettings

WEIR = str(Path(sys.executable).parent / "weir")
SCRIPT_FLOW = """
id: relative
namespace: company.team
tasks:
  - id: script
    type: io.kestra.plugin.scripts.python.Script
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    script: |
      print("ran from a relative home")
"""


def _weir(cwd: Path, *args: str, home: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    if home is not None:
        env["WEIR_HOME"] = home
    return subprocess.run(
        [WEIR, *args], capture_output=True, text=True, timeout=600, env=env, cwd=cwd, check=False
    )


def test_settings_make_a_relative_home_absolute_where_they_are_read(tmp_path: Path) -> None:
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        settings = StoreSettings.from_env({"WEIR_HOME": "nested/../home"})
    finally:
        os.chdir(here)
    assert settings.home == tmp_path / "home"
    assert settings.storage_root == tmp_path / "home" / "storage"


def test_a_python_script_runs_under_the_default_home(tmp_path: Path) -> None:
    (tmp_path / "relative.yaml").write_text(SCRIPT_FLOW)
    run = _weir(tmp_path, "run", "relative.yaml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ran from a relative home" in run.stdout
    assert (tmp_path / ".weir" / "weir.db").is_file()


def test_a_relative_home_given_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "relative.yaml").write_text(SCRIPT_FLOW)
    run = _weir(tmp_path / "flows", "run", "relative.yaml", home="../state")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "state" / "weir.db").is_file()


def test_demo_outside_the_repository_uses_the_flows_installed_with_weir(tmp_path: Path) -> None:
    demo = _weir(tmp_path, "demo", "--orders", "50")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "SUCCESS" in demo.stdout and "top category is" in demo.stdout
