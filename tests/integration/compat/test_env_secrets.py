"""Secrets given as base64 ``SECRET_<NAME>`` environment variables, as Kestra's open edition
takes them (the tutorial's PostgreSQL flows read ``secret('POSTGRES_URL')``)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from controlplane.engine.envsecrets import EnvSecretInvalid, env_secret

WEIR = str(Path(sys.executable).parent / "weir")
URL = "postgresql://kestra:k3stra@127.0.0.1:5432/postgres-zoomcamp"

FLOW = """
id: secret_from_env
namespace: zoomcamp
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "connecting to {{ secret('POSTGRES_URL') }}"
  - id: check
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    env:
      URL: "{{ secret('POSTGRES_URL') }}"
    commands:
      - 'test "$URL" = "postgresql://kestra:k3stra@127.0.0.1:5432/postgres-zoomcamp"'
      - test -z "$SECRET_POSTGRES_URL"
"""


def _run(tmp_path: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW)
    env = {**os.environ, "WEIR_HOME": str(tmp_path / "home"), **extra_env}
    env.pop("WEIR_DATABASE_URL", None)
    return subprocess.run(
        [WEIR, "run", str(flow)], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_a_secret_is_read_from_its_base64_environment_variable(tmp_path: Path) -> None:
    encoded = base64.b64encode(URL.encode()).decode()
    run = _run(tmp_path, {"SECRET_POSTGRES_URL": encoded})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "connecting to ********" in run.stdout
    assert "k3stra" not in run.stdout


def test_a_missing_secret_names_the_variable_that_would_give_it(tmp_path: Path) -> None:
    run = _run(tmp_path, {})
    assert run.returncode == 1
    assert "nor as the environment variable SECRET_POSTGRES_URL" in run.stdout


def test_a_value_that_is_not_base64_is_refused_without_showing_it() -> None:
    with pytest.raises(EnvSecretInvalid) as caught:
        env_secret("TOKEN", {"SECRET_TOKEN": "not base64 at all!"})
    assert "SECRET_TOKEN is not base64" in str(caught.value)
    assert "at all" not in str(caught.value)
