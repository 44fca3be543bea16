"""A tenant's script attacks the server it runs on: the real ``weir server standalone`` with
tokens required, driven with a write token scoped to ``team.a`` only.

The script tries what a shell task could do before task processes were sandboxed: read the key
file and the database under ``WEIR_HOME`` and decrypt ``team.b``'s secret, read the server's
environment, run as root, leave files in the host's ``/tmp``, start processes without limit. The
same flow on a server started with ``--unsafe-no-sandbox`` succeeds in the attack, which shows
that these checks can fail.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api.auth import issue_token
from controlplane.client import WeirClient
from controlplane.store import StoreSettings, open_store
from tests.standalone import standalone
from tests.waiting import ended_through

SECRET = "team-b-Secret-" + secrets.token_hex(6)
MARKER = "server-only-" + secrets.token_hex(6)

ATTACK = """\
import base64, os, pathlib, resource, sys
home = pathlib.Path({home!r})
report = {{}}
report["uid"] = os.getuid()
report["home"] = sorted(os.listdir(home)) if home.exists() else []
report["work"] = len(os.listdir(home / "work")) if (home / "work").exists() else 0
try:
    report["key_bytes"] = len((home / "secret.key").read_bytes())
except OSError as exc:
    report["key_bytes"] = type(exc).__name__
report["server_env"] = any({marker!r} in value for value in os.environ.values())
report["env_names"] = sorted(os.environ)
pathlib.Path({probe!r}).write_text("left by a task")
report["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
report["memory"] = resource.getrlimit(resource.RLIMIT_AS)[0]
if (home / "weir.db").exists():
    from controlplane.store import StoreSettings, open_store
    store = open_store(StoreSettings(home=home))
    with store.unit() as repos:
        value = repos.secrets.read_secret_value("team.b", "BKEY") or ""
    report["stolen"] = base64.b64encode(value.encode()).decode()
import json
print("::" + json.dumps({{"outputs": report}}) + "::")
"""

FLOW = """\
id: attack
namespace: team.a
tasks:
  - id: steal
    type: io.kestra.plugin.scripts.python.Script
    script: |
{script}
"""


def _flow(home: Path, probe: Path) -> str:
    script = ATTACK.format(home=str(home), marker=MARKER, probe=str(probe))
    indented = "\n".join("      " + line for line in script.splitlines())
    return FLOW.format(script=indented)


@pytest.fixture
def tenants(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A home with an admin token and a write token of ``team.a``."""
    home = tmp_path / "home"
    store = open_store(StoreSettings(home=home))
    try:
        _, admin = issue_token(store, "admin", "admin")
        _, team_a = issue_token(store, "team-a", "write", ["team.a"])
    finally:
        store.close()
    yield home, admin, team_a


def _attack(
    home: Path, admin: str, team_a: str, *flags: str
) -> tuple[dict[str, object], Path, list[str]]:
    """Run the attack flow on a server started with ``flags``: its report, the probe path, and
    what the server printed and the task logged."""
    env = {**os.environ, "WEIR_HOME": str(home), "SERVER_ONLY": MARKER}
    env.pop("WEIR_DATABASE_URL", None)
    env.pop("WEIR_SANDBOX", None)
    probe = Path("/tmp") / f"weir-sandbox-probe-{secrets.token_hex(6)}"
    with standalone(env, home, "--auth", "tokens", *flags) as (url, printed):
        with WeirClient(url, admin, manager=None) as root:
            root.namespaces.put("team.a")
            root.namespaces.put("team.b")
            root.secrets.set("team.b", "BKEY", SECRET)
        with WeirClient(url, team_a, manager=None) as client:
            client.flows.put(_flow(home, probe))
            run = client.executions.create("team.a", "attack")
            done = ended_through(client.executions, run.id)
            logs = [line.message for line in client.executions.logs(run.id)]
    assert done.state == "SUCCESS", logs
    report = done.task_runs[0]["outputs"]["vars"]
    return report, probe, [*printed, *logs]


def test_a_tenant_script_sees_nothing_of_the_server(tenants: tuple[Path, str, str]) -> None:
    home, admin, team_a = tenants
    report, probe, said = _attack(home, admin, team_a)
    assert not any("WITHOUT a sandbox" in line for line in said)
    # Only the folders leading to its own working directory, mounted alone.
    assert report["home"] == ["work"]
    assert report["work"] == 1
    assert report["key_bytes"] == "FileNotFoundError"
    assert "stolen" not in report
    assert report["server_env"] is False
    # Nothing of the server's environment but PATH (the shell sets PWD, SHLVL and _ itself).
    # Script tasks set WORKING_DIR, OUTPUT_DIR and PYTHONUNBUFFERED themselves.
    shared = {"PATH", "LANG", "HOME", "TMPDIR", "PWD", "OLDPWD", "SHLVL", "_", "PYTHONUNBUFFERED"}
    assert not (set(report["env_names"]) & (set(os.environ) | {"SERVER_ONLY"})) - shared  # type: ignore[arg-type]
    assert report["uid"] == 65534 if os.geteuid() == 0 else report["uid"] != 0
    assert not probe.exists()  # its /tmp was its own
    assert 0 < report["nproc"] <= 1024  # type: ignore[operator]
    assert 0 < report["memory"] <= 8 << 30  # type: ignore[operator]


def test_without_the_sandbox_the_same_script_steals_the_secret(
    tenants: tuple[Path, str, str],
) -> None:
    home, admin, team_a = tenants
    report, probe, said = _attack(home, admin, team_a, "--unsafe-no-sandbox")
    try:
        # Said loudly: when the server starts, and in the task's log.
        assert sum("Task processes run WITHOUT a sandbox" in line for line in said) == 2, said
        assert {"secret.key", "weir.db", "work"} <= set(report["home"])  # type: ignore[arg-type]
        assert isinstance(report["key_bytes"], int) and report["key_bytes"] > 0
        assert base64.b64decode(str(report["stolen"])).decode() == SECRET
        assert report["server_env"] is True
        assert probe.exists()
    finally:
        probe.unlink(missing_ok=True)
