"""The reconciler inside the cluster, end to end: the real ``weir server standalone --load flows/``
process runs its own system flows against its own API, from real git repositories.

``system/gitops-reconcile`` applies a desired-state repository when started through the API, then,
configured the way its description says (defaults and webhook key set, trigger enabled), applies
the next commit when the repository's push hook calls its webhook. ``system/terraform-apply``
applies a Terraform configuration with Weir's provider.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from controlplane.client import WeirClient
from controlplane.client.models import Execution
from tests.standalone import standalone
from tests.waiting import ended_through

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "e2e-source"
NAMESPACE = "e2e.gitops"

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def repositories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one folder of this module's repositories that task processes clone."""
    folder = tmp_path_factory.getbasetemp() / "gitops-in-server-repositories"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of ``weir server standalone --load flows/`` with a WEIR_HOME of its own."""
    home = tmp_path_factory.mktemp("standalone")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIR_", "TF_"))}
    env.update(WEIR_HOME=str(home), CHECKPOINT_DISABLE="1", HOME=str(home))
    # Task processes may read the repositories the tests make for them to clone, and nothing else.
    env["WEIR_SANDBOX_READ_ONLY"] = str(repositories(tmp_path_factory))
    with standalone(env, ROOT, "--load", "flows/") as (url, _output):
        yield url


@pytest.fixture
def weir(server: str) -> Iterator[WeirClient]:
    with WeirClient(server, manager=None) as client:
        yield client


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **_GIT_ENV}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    """Write ``files`` into the work tree of ``repo``, commit them; the new commit's sha."""
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        git("init", "-q", "-b", "main", cwd=repo)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def flow(flow_id: str, message: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {NAMESPACE}\ntasks:\n"
        f"  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
    )


def outputs_of(execution: Execution, task_id: str) -> dict[str, Any]:
    (run,) = [t for t in execution.raw["taskRunList"] if t["taskId"] == task_id]
    found: dict[str, Any] = run.get("outputs") or {}
    return found


def messages(weir: WeirClient, execution: Execution) -> list[str]:
    return [line.message for line in weir.executions.logs(execution.id)]


def test_the_system_flows_are_loaded_valid_and_their_triggers_wait_to_be_configured(
    weir: WeirClient, server: str
) -> None:
    for flow_id in ("gitops-reconcile", "terraform-apply"):
        loaded = weir.flows.get("system", flow_id)
        assert loaded.source == (ROOT / "flows" / "system" / f"{flow_id}.yaml").read_text()
        declared = yaml.safe_load(loaded.source)
        assert [t["type"] for t in declared["triggers"]] == [
            "io.kestra.plugin.core.trigger.Schedule",
            "io.kestra.plugin.core.trigger.Webhook",
        ]
        assert all(t["disabled"] is True for t in declared["triggers"])
        without_default = [
            i["id"] for i in declared["inputs"] if "defaults" not in i and i.get("required", True)
        ]
        assert without_default == ["repository"]
        shipped_key = declared["triggers"][1]["key"]
        hook = f"{server}/api/v1/executions/webhook/system/{flow_id}/{shipped_key}"
        assert requests.post(hook, json={}, timeout=30).status_code == 404


def test_gitops_reconcile_applies_a_repository_then_a_push_through_its_webhook(
    weir: WeirClient, server: str, tmp_path: Path
) -> None:
    repo = tmp_path / "desired"
    commit(
        repo,
        {
            "weir.yaml": f"name: {SOURCE}\nnamespaces: [{NAMESPACE}]\n",
            f"namespaces/{NAMESPACE}/namespace.yaml": "description: Reconciled from git\n",
            f"namespaces/{NAMESPACE}/flows/hello.yaml": flow("hello", "hello"),
            f"namespaces/{NAMESPACE}/flows/report.yaml": flow("report", "report"),
            f"namespaces/{NAMESPACE}/kv.yaml": "threshold: 42\n",
        },
        "declare the team",
    )

    started = weir.executions.create(
        "system", "gitops-reconcile", inputs={"repository": str(repo), "server": server}
    )
    done = ended_through(weir.executions, started.id)
    assert done.state == "SUCCESS", messages(weir, done)
    assert outputs_of(done, "reconcile")["created"] == 4
    assert f"created flow {NAMESPACE}/report" in messages(weir, done)
    manager = f"gitops:{SOURCE}"
    for flow_id in ("hello", "report"):
        assert weir.flows.get(NAMESPACE, flow_id).managed_by == manager
    threshold = weir.kv.get(NAMESPACE, "threshold")
    assert (threshold.value, threshold.managed_by) == (42, manager)
    assert weir.namespaces.get(NAMESPACE).description == "Reconciled from git"

    # Configured as the flow's description says: defaults, a key of its own, the hook enabled.
    key = secrets.token_urlsafe(24)
    weir.flows.put(
        configured(weir.flows.get("system", "gitops-reconcile").source, repo, server, key)
    )
    head = commit(
        repo,
        {
            f"namespaces/{NAMESPACE}/flows/hello.yaml": flow("hello", "hello again"),
            f"namespaces/{NAMESPACE}/flows/weekly.yaml": flow("weekly", "weekly"),
        },
        "a push",
    )

    hook = f"{server}/api/v1/executions/webhook/system/gitops-reconcile/{key}"
    answer = requests.post(hook, json={"ref": "refs/heads/main", "after": head}, timeout=30)
    assert answer.status_code == 201, answer.text
    pushed = ended_through(weir.executions, answer.json()["id"])
    assert pushed.state == "SUCCESS", messages(weir, pushed)
    reconciled = outputs_of(pushed, "reconcile")
    assert (reconciled["commit"], reconciled["created"], reconciled["updated"]) == (head, 1, 1)
    assert "hello again" in weir.flows.get(NAMESPACE, "hello").source
    assert weir.flows.get(NAMESPACE, "weekly").managed_by == manager
    status = weir.kv.get("system", f"gitops.{SOURCE}").value
    assert (status["commit"], status["ready"]) == (head, True)

    wrong = requests.post(hook.replace(key, key[::-1]), json={}, timeout=30)
    assert wrong.status_code == 404


def configured(source: str, repository: Path, server: str, key: str) -> str:
    """The shipped flow with its inputs' defaults set and its webhook enabled under ``key``."""
    flow = yaml.safe_load(source)
    defaults = {"repository": str(repository), "server": server}
    for declared in flow["inputs"]:
        if declared["id"] in defaults:
            declared["defaults"] = defaults[declared["id"]]
    (hook,) = [t for t in flow["triggers"] if t["type"].endswith(".Webhook")]
    hook.update(key=key, disabled=False)
    text: str = yaml.safe_dump(flow, sort_keys=False)
    return text


def test_terraform_apply_applies_a_configuration_with_weirs_provider(
    weir: WeirClient, server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    repo = repositories(tmp_path_factory) / "infrastructure"
    commit(
        repo,
        {
            "README.md": "Terraform for the team\n",
            "team/main.tf": (
                'terraform {\n  required_providers {\n    weir = { source = "weir/weir" }\n  }\n}\n'
                'provider "weir" {}\n'
                'resource "weir_namespace" "team" {\n'
                '  name        = "e2e.terraform"\n'
                '  description = "Applied by system/terraform-apply"\n'
                "}\n"
            ),
        },
        "a namespace",
    )

    started = weir.executions.create(
        "system",
        "terraform-apply",
        inputs={"repository": repo.as_uri(), "path": "team", "server": server},
    )
    done = ended_through(weir.executions, started.id)

    assert done.state == "SUCCESS", messages(weir, done)
    made = weir.namespaces.get("e2e.terraform")
    assert made.description == "Applied by system/terraform-apply"
    assert (made.managed_by or "").startswith("terraform:"), made.managed_by
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in messages(weir, done)
