"""The modules of ``terraform/modules``, each applied as a user would: its ``examples/basic``,
copied with the module, run by the real terraform binary against a live server.

Each test checks what the module promises on the server (and that Terraform manages it), that a
second plan is empty, and that a destroy removes it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests
import yaml

from controlplane.client import WeirClient
from controlplane.client.errors import NotFound
from tests.integration.api.conftest import LiveServer
from tests.integration.provider.harness import Terraform, by_terraform
from tests.waiting import ended_through

MODULES = Path(__file__).resolve().parents[3] / "terraform" / "modules"
PASSWORD = "correct-horse-battery-staple"


def example(module: str, tmp_path: Path, tf_env: dict[str, str], **variables: str) -> Terraform:
    """The module with its examples copied under ``tmp_path``, initialized in ``examples/basic``;
    ``variables`` are the example's input variables."""
    copy = shutil.copytree(
        MODULES / module,
        tmp_path / module,
        ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"),
    )
    env = {**tf_env, **{f"TF_VAR_{name}": value for name, value in variables.items()}}
    terraform = Terraform(copy / "examples" / "basic", env)
    terraform.init()
    return terraform


def outputs(terraform: Terraform) -> dict[str, object]:
    shown = json.loads(terraform.run("output", "-json").stdout)
    return {name: value["value"] for name, value in shown.items()}


def apply_twice(terraform: Terraform) -> None:
    """Apply, then check that nothing is left to change."""
    terraform.apply()
    code, text = terraform.plan()
    assert code == 0, text


def missing(read: Callable[[], object]) -> bool:
    """Whether the server answers that the object read does not exist."""
    try:
        read()
    except NotFound:
        return True
    return False


def test_namespace_module(tmp_path: Path, tf_env: dict[str, str], weir: WeirClient) -> None:
    terraform = example("namespace", tmp_path, tf_env, warehouse_password=PASSWORD)
    # The secret is ephemeral: a saved plan holds it nowhere, and applying it asks for it again.
    terraform.run("plan", "-input=false", "-out=saved.tfplan")
    assert PASSWORD.encode() not in (terraform.workdir / "saved.tfplan").read_bytes()
    assert PASSWORD not in terraform.run("show", "-json", "saved.tfplan").stdout
    terraform.run("apply", "-input=false", "saved.tfplan")
    apply_twice(terraform)

    found = weir.namespaces.get("company.analytics")
    assert by_terraform(found.managed_by)
    assert found.description == "The analytics team's flows."
    assert found.variables == {"warehouse": "analytics-prod"}
    assert found.labels == {"owner": "analytics"}

    secrets = weir.secrets.list("company.analytics")
    assert [s.name for s in secrets] == ["WAREHOUSE_PASSWORD"]
    assert by_terraform(secrets[0].managed_by)
    assert PASSWORD not in terraform.state_text()

    batch = weir.kv.get("company.analytics", "batch_size")
    assert (batch.value, batch.type) == (500, "NUMBER") and by_terraform(batch.managed_by)
    export = weir.kv.get("company.analytics", "last_export")
    assert (export.value, export.type) == ("2025-01-31", "DATE") and export.expires is not None

    files = {f.path: f for f in weir.files.list("company.analytics")}
    assert sorted(files) == ["scripts/hello.py", "sql/orders.sql"]
    assert all(by_terraform(f.managed_by) for f in files.values())
    local_sql = (terraform.workdir / "files" / "sql" / "orders.sql").read_bytes()
    assert weir.files.read("company.analytics", "sql/orders.sql") == local_sql

    shown = outputs(terraform)
    assert shown["namespace"] == "company.analytics"
    assert shown["secret_names"] == ["WAREHOUSE_PASSWORD"]
    assert shown["kv_keys"] == ["batch_size", "last_export"]
    assert shown["files"] == {path: meta.sha256 for path, meta in files.items()}

    terraform.destroy()
    assert missing(lambda: weir.namespaces.get("company.analytics"))


def test_subflow_module(tmp_path: Path, tf_env: dict[str, str], weir: WeirClient) -> None:
    terraform = example("subflow", tmp_path, tf_env)
    apply_twice(terraform)

    greet = weir.flows.get("company.shared", "greet")
    assert by_terraform(greet.managed_by)
    assert [(i.id, i.type, i.required) for i in greet.inputs] == [
        ("name", "STRING", True),
        ("punctuation", "STRING", False),
    ]
    assert [(o.id, o.type) for o in greet.outputs] == [("greeting", "STRING")]
    caller = weir.flows.get("company.team", "welcome")
    assert by_terraform(caller.managed_by)

    call = outputs(terraform)["call"]
    assert call == {
        "id": "greet",
        "type": "io.kestra.plugin.core.flow.Subflow",
        "namespace": "company.shared",
        "flowId": "greet",
        "wait": True,
        "transmitFailed": True,
        "inputs": {"name": "{{ inputs.name }}", "punctuation": "{{ inputs.punctuation }}"},
    }

    # The caller built from `call` runs the subflow and reads its output.
    run = weir.executions.create("company.team", "welcome")
    ended = ended_through(weir.executions, run.id)
    assert ended.state == "SUCCESS"
    assert [line.message for line in weir.executions.logs(run.id)] == ["Hello, Ada."]

    terraform.destroy()
    assert missing(lambda: weir.flows.get("company.shared", "greet"))
    assert missing(lambda: weir.flows.get("company.team", "welcome"))


def test_pipeline_module(tmp_path: Path, tf_env: dict[str, str], weir: WeirClient) -> None:
    terraform = example("pipeline", tmp_path, tf_env)
    apply_twice(terraform)

    found = weir.flows.get("company.marketing", "daily_crm_sync")
    assert by_terraform(found.managed_by)
    shown = outputs(terraform)
    assert shown["flow"] == "company.marketing/daily_crm_sync"
    assert shown["revision"] == found.revision
    assert shown["content"] == found.source

    flow = yaml.safe_load(found.source)
    ingest, transform, activate = flow["tasks"]
    assert ingest["type"] == "io.kestra.plugin.airbyte.connections.Sync"
    assert ingest["token"] == "{{ secret('AIRBYTE_TOKEN') }}"
    assert ingest["retry"] == {"type": "constant", "interval": "PT5M", "maxAttempts": 2}
    assert transform["type"] == "io.kestra.plugin.dbt.cli.DbtCLI"
    assert transform["commands"] == ["dbt deps", "dbt build --target prod"]
    assert transform["namespaceFiles"] == {"enabled": True}
    assert transform["inputFiles"] == {
        "service-account.json": "{{ secret('BIGQUERY_SERVICE_ACCOUNT') }}"
    }
    assert transform["retry"] == {
        "type": "exponential",
        "interval": "PT1M",
        "maxInterval": "PT10M",
        "maxAttempts": 3,
    }
    assert (activate["type"], activate["syncId"]) == ("io.kestra.plugin.hightouch.Sync", 1127)
    assert flow["triggers"] == [
        {
            "id": "schedule",
            "type": "io.kestra.plugin.core.trigger.Schedule",
            "cron": "0 6 * * *",
            "timezone": "Europe/Paris",
        }
    ]
    (notice,) = flow["errors"]
    assert notice["url"] == "{{ secret('SLACK_WEBHOOK_URL') }}"

    terraform.destroy()
    assert missing(lambda: weir.flows.get("company.marketing", "daily_crm_sync"))


def test_reconciler_module(
    tmp_path: Path, tf_env: dict[str, str], weir: WeirClient, live_server: LiveServer
) -> None:
    repo = tmp_path / "repo"
    commit(repo, DESIRED_STATE, "declare the team")
    key = secrets.token_urlsafe(24)
    terraform = example(
        "reconciler", tmp_path, tf_env, repository=str(repo), server=live_server.url,
        webhook_key=key,
    )  # fmt: skip
    apply_twice(terraform)

    found = weir.flows.get("system", "gitops_reconcile")
    assert by_terraform(found.managed_by)
    flow = yaml.safe_load(found.source)
    (task,) = flow["tasks"]
    assert task == {
        "id": "reconcile",
        "type": "io.weir.gitops.Reconcile",
        "url": str(repo),
        "branch": "main",
        "server": live_server.url,
        "token": "{{ secret('WEIR_TOKEN') }}",
        "prune": True,
    }
    assert [(t["id"], t.get("cron"), t.get("key")) for t in flow["triggers"]] == [
        ("schedule", "*/5 * * * *", None),
        ("webhook", None, key),
    ]
    hook = outputs(terraform)["webhook_path"]
    assert hook == f"/api/v1/executions/webhook/system/gitops_reconcile/{key}"

    # A reconcile makes Weir follow the repository.
    weir.secrets.set("system", "WEIR_TOKEN", "weir_unused-by-a-server-without-tokens")
    started = weir.executions.create("system", "gitops_reconcile")
    assert ended_through(weir.executions, started.id).state == "SUCCESS"
    manager = "gitops:finance"
    assert weir.flows.get("company.finance", "invoices").managed_by == manager
    assert weir.flows.get("company.finance", "payments").managed_by == manager
    assert weir.kv.get("company.finance", "currency").value == "EUR"

    # A push reaches the webhook: the next commit is applied, a removed flow pruned.
    (repo / "namespaces/company.finance/flows/payments.yaml").unlink()
    commit(repo, {"namespaces/company.finance/kv.yaml": "currency: USD\n"}, "a push")
    answer = requests.post(f"{live_server.url}{hook}", json={"ref": "refs/heads/main"}, timeout=30)
    assert answer.status_code == 201, answer.text
    assert ended_through(weir.executions, answer.json()["id"]).state == "SUCCESS"
    assert weir.kv.get("company.finance", "currency").value == "USD"
    assert missing(lambda: weir.flows.get("company.finance", "payments"))

    # Removing the reconciler leaves what it reconciled.
    terraform.destroy()
    assert missing(lambda: weir.flows.get("system", "gitops_reconcile"))
    assert weir.flows.get("company.finance", "invoices").managed_by == manager


DESIRED_STATE = {
    "weir.yaml": "name: finance\nnamespaces: [company.finance]\n",
    "namespaces/company.finance/flows/invoices.yaml": (
        "id: invoices\nnamespace: company.finance\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: invoices\n"
    ),
    "namespaces/company.finance/flows/payments.yaml": (
        "id: payments\nnamespace: company.finance\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: payments\n"
    ),
    "namespaces/company.finance/kv.yaml": "currency: EUR\n",
}
"""A desired-state repository as ``weir gitops apply`` reads it: one namespace, two flows, a KV
pair."""


def commit(repo: Path, files: dict[str, str], message: str) -> None:
    """Write ``files`` into ``repo`` (created on first use) and commit everything on main."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if not repo.is_dir():
        repo.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


TEAM_PIPELINE = """
terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

resource "weir_flow" "notify" {
  content = <<-EOT
    id: notify
    namespace: company.shared
    inputs:
      - id: pipeline
        type: STRING
    tasks:
      - id: tell
        type: io.kestra.plugin.core.log.Log
        message: "{{ inputs.pipeline }} failed"
  EOT
}

module "pipeline" {
  source    = "./pipeline"
  namespace = "company.team"
  flow_id   = "nightly"
  ingestion = {
    tool          = "airbyte"
    url           = "https://airbyte.example.com"
    connection_id = "3f6f2a4e-6b8a-4d3c-9a0e-5d2b1c7e8f90"
    token_secret  = "AIRBYTE_TOKEN"
  }
  dbt = { commands = ["dbt build"], profiles = "team: {}" }
  extra_tasks = [
    { id = "done", type = "io.kestra.plugin.core.log.Log", message = "built" },
  ]
  failure_subflow = {
    namespace = weir_flow.notify.namespace
    flow_id   = weir_flow.notify.flow_id
    inputs    = { %s = "{{ flow.id }}" }
  }
  on_failure = [
    { id = "page", type = "io.kestra.plugin.core.http.Request", uri = "https://hooks.example.com/page", method = "POST" },
  ]
}
"""


def test_a_pipeline_takes_extra_tasks_a_failure_subflow_and_any_notifier(
    tmp_path: Path, tf_env: dict[str, str], weir: WeirClient
) -> None:
    shutil.copytree(MODULES / "pipeline", tmp_path / "config" / "pipeline")
    terraform = Terraform(tmp_path / "config", tf_env)
    (terraform.workdir / "main.tf").write_text(TEAM_PIPELINE % "pipeline")
    terraform.init()
    terraform.apply()
    flow = yaml.safe_load(weir.flows.get("company.team", "nightly").source)
    assert [t["id"] for t in flow["tasks"]] == ["ingest", "transform", "done"]
    call, page = flow["errors"]
    assert call == {
        "id": "call_on_failure",
        "type": "io.kestra.plugin.core.flow.Subflow",
        "namespace": "company.shared",
        "flowId": "notify",
        "inputs": {"pipeline": "{{ flow.id }}"},
        "wait": True,
    }
    assert (page["id"], page["type"]) == ("page", "io.kestra.plugin.core.http.Request")

    # The call is checked against the subflow at plan time.
    (terraform.workdir / "main.tf").write_text(TEAM_PIPELINE % "pipeline_name")
    error = " ".join(terraform.failing("plan", "-input=false").split())
    assert "company.team/nightly would fail calling company.shared/notify" in error
    assert "passes input 'pipeline_name', which company.shared/notify does not declare" in error
    assert "does not pass 'pipeline', a required STRING input" in error
