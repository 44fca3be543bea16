"""``weir validate`` checks subflow contracts: among the files, and with ``--server`` against
the callers and subflows the server holds too (the installed command, a live server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.client import WeirClient
from controlplane.store import StoreSettings
from tests.integration.api.conftest import LiveServer, serve

WEIR = str(Path(sys.executable).parent / "weir")
SUBFLOW = """id: notify
namespace: company.shared
inputs:
  - id: {name}
    type: STRING
  - id: retries
    type: INT
    required: false
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def caller(namespace: str, flow_id: str, retries: str = "2") -> str:
    return f"""id: {flow_id}
namespace: {namespace}
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.shared
    flowId: notify
    inputs:
      pipeline: {flow_id}
      retries: {retries}
"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = serve(ApiSettings(store=StoreSettings(home=tmp_path_factory.mktemp("home"))))
    yield server
    server.stop()


def weir(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WEIR, *args], capture_output=True, text=True, timeout=120, check=False)


def test_the_files_alone_catch_a_caller_that_breaks_its_subflow(tmp_path: Path) -> None:
    (tmp_path / "notify.yaml").write_text(SUBFLOW.format(name="pipeline"))
    (tmp_path / "caller.yaml").write_text(caller("company.team", "nightly", "many"))
    run = weir("validate", str(tmp_path))
    assert run.returncode == 1
    assert (
        f"{tmp_path}/caller.yaml:10:7: error at tasks[0].inputs.retries: company.team/nightly "
        "passes input 'retries' as a str ('many'), but company.shared/notify declares it INT"
    ) in run.stdout


def test_with_the_server_every_caller_is_checked(live_server: LiveServer, tmp_path: Path) -> None:
    with WeirClient(live_server.url, retries=0) as client:
        client.flows.put(SUBFLOW.format(name="pipeline"))
        client.flows.put(caller("company.team", "nightly"))
        client.flows.put(caller("company.other", "by-hand"))
    with WeirClient(live_server.url, manager="terraform:prod", retries=0) as terraform:
        terraform.flows.put(caller("finance.reports", "daily"))
    (tmp_path / "notify.yaml").write_text(SUBFLOW.format(name="pipeline_name"))
    (tmp_path / "nightly.yaml").write_text(caller("company.team", "nightly"))

    alone = weir("validate", "--owns", "company", str(tmp_path))
    assert alone.returncode == 1 and "1 invalid" in alone.stdout  # only the caller among files

    run = weir("validate", "--owns", "company", "--server", live_server.url, str(tmp_path))
    assert run.returncode == 1, run.stderr
    assert (
        f"{tmp_path}/nightly.yaml:9:7: error at tasks[0].inputs.pipeline: company.team/nightly "
        "passes input 'pipeline', which company.shared/notify does not declare"
    ) in run.stdout
    for name, owner in (
        ("company.other/by-hand", "nobody"),
        ("finance.reports/daily", "terraform:prod"),
    ):
        assert (
            f"{tmp_path}/notify.yaml:3:1: error at inputs: {name} (only on the server, managed by "
            f"{owner}; line 9, tasks[0].inputs.pipeline) passes input 'pipeline', which "
            "company.shared/notify does not declare"
        ) in run.stdout
        assert (
            f"{name} (only on the server, managed by {owner}; line 8, tasks[0].inputs) does not pass 'pipeline_name'"
            in run.stdout
        )
    assert "2 flow files: 0 valid, 2 invalid" in run.stdout


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notify.yaml").write_text(SUBFLOW.format(name="pipeline"))
    run = weir("validate", "--server", "http://127.0.0.1:9", str(tmp_path))
    assert run.returncode == 1
    assert run.stderr.startswith(
        "weir validate: cannot reach the Weir server at http://127.0.0.1:9"
    )


def test_owns_takes_a_namespace_and_the_ones_below_it(tmp_path: Path) -> None:
    (tmp_path / "caller.yaml").write_text(caller("company.team", "nightly"))
    run = weir("validate", "--owns", "company", str(tmp_path))
    assert run.returncode == 1
    assert (
        "flow company.shared/notify does not exist: namespace company.shared is declared"
        in run.stdout
    )
    assert weir("validate", "--owns", "comp", str(tmp_path)).returncode == 0
