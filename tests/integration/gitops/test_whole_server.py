"""What a GitOps plan sees beyond the repository: callers that only the server holds, and
what stays on the server when prune is off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.cli.main import main
from controlplane.client import WeirClient
from tests.doubles.github import REPOSITORY, TOKEN, GitHubDouble
from tests.integration.api.conftest import LiveServer
from tests.integration.gitops.conftest import Repo

PR = 23
HEAD = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
NOTIFY = (
    "id: notify\nnamespace: {ns}\ninputs:\n  - id: {name}\n    type: STRING\n"
    "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)


def caller(namespace: str, flow_id: str, target: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - id: call\n"
        f"    type: io.kestra.plugin.core.flow.Subflow\n    namespace: {target}\n"
        f"    flowId: notify\n    inputs:\n      pipeline: {flow_id}\n"
    )


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        double.add_pull_request(PR, HEAD)
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": PR, "head": {"sha": HEAD}}}))
        monkeypatch.setenv("GITHUB_API_URL", double.api_url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
        yield double


def test_a_server_only_caller_broken_by_a_pull_request_is_named_in_its_comment(
    repo: Repo,
    live_server: LiveServer,
    weir: WeirClient,
    github: GitHubDouble,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ns = "wide.shared"
    repo.write("weir.yaml", "name: wide\nnamespaces: [wide.shared]\n")
    repo.write(f"namespaces/{ns}/flows/notify.yaml", NOTIFY.format(ns=ns, name="pipeline"))
    repo.write(f"namespaces/{ns}/flows/in-repo.yaml", caller(ns, "in-repo", ns))
    repo.commit()
    args = ["gitops", "plan", "--source", str(repo.root), "--server", live_server.url]
    assert main(["gitops", "apply", "--source", str(repo.root), "--server", live_server.url]) == 0
    # Callers the repository does not hold: one by hand in another namespace, one of Terraform.
    weir.flows.put(caller("wide.reports", "by-hand", ns))
    with WeirClient(live_server.url, manager="terraform:prod", retries=0) as terraform:
        terraform.flows.put(caller("wide.billing", "invoices", ns))

    repo.write(f"namespaces/{ns}/flows/notify.yaml", NOTIFY.format(ns=ns, name="pipeline_name"))
    repo.commit()
    assert main([*args, "--github"]) == 2
    body = github.comments_on(PR)[0]["body"]
    assert "❌ Weir plan: 6 error(s)" in body
    for name, owner in (
        ("wide.reports/by-hand", "nobody"),
        ("wide.billing/invoices", "terraform:prod"),
    ):
        assert (
            f"server:{name}:9:7: {name} (only on the server, managed by {owner}) passes input "
            f"'pipeline', which {ns}/notify does not declare" in body
        )
        assert (
            f"{name} (only on the server, managed by {owner}) does not pass 'pipeline_name'" in body
        )
    assert f"namespaces/{ns}/flows/in-repo.yaml:9:7: {ns}/in-repo passes input 'pipeline'" in body
    assert [s["state"] for s in github.statuses_of(HEAD)] == ["failure"]
    annotations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert (
        "::error title=weir::server:wide.reports/by-hand:9:7: wide.reports/by-hand (only on the "
        "server, managed by nobody) passes input 'pipeline'" in "\n".join(annotations)
    )
    assert any(
        line.startswith(f"::error file=source/namespaces/{ns}/flows/in-repo.yaml,line=9")
        for line in annotations
    )


def test_with_prune_off_a_removed_flow_is_kept_with_its_triggers_still_active(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = "kept.team"
    repo.write("weir.yaml", "name: kept\nnamespaces: [kept]\n")
    schedule = (
        "triggers:\n  - id: early\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        '    cron: "0 5 * * *"\n'
    )
    repo.flow(ns, "morning", extra=schedule)
    repo.flow(ns, "stays")
    repo.commit()
    base = ["--source", str(repo.root), "--server", live_server.url]
    assert main(["gitops", "apply", *base]) == 0
    repo.remove(f"namespaces/{ns}/flows/morning.yaml")
    repo.commit()
    capsys.readouterr()

    assert main(["gitops", "plan", *base]) == 0
    out = capsys.readouterr().out
    assert "Kept on the server (no longer declared; prune is off, --prune deletes):" in out
    assert f"= flow {ns}/morning; its triggers stay active: early (Schedule 0 5 * * *)" in out
    assert "no changes: 2 object(s) in sync, 1 kept (prune off)" in out
    assert "(none)" not in out  # the schedule does not go away
    assert main(["gitops", "plan", *base, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kept"] == [
        {
            "kind": "flow",
            "namespace": ns,
            "name": "morning",
            "active_triggers": ["early (Schedule 0 5 * * *)"],
        }
    ]
    assert main(["gitops", "apply", *base]) == 0
    assert "0 5 * * *" in weir.flows.get(ns, "morning").source

    assert main(["gitops", "plan", *base, "--prune"]) == 1
    out = capsys.readouterr().out
    assert f"- flow {ns}/morning" in out and "early: 0 5 * * * → (none)" in out


def test_a_terraform_owned_kv_pair_in_the_repository_is_refused_at_its_line(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("weir.yaml", "name: owned\nnamespaces: [owned]\n")
    with WeirClient(live_server.url, manager="terraform:prod", retries=0) as terraform:
        terraform.kv.set("owned.team", "region", "eu")
    repo.write("namespaces/owned.team/kv.yaml", "batch: 10\nregion: us\n")
    repo.commit()
    capsys.readouterr()
    assert main(["gitops", "plan", "--source", str(repo.root), "--server", live_server.url]) == 2
    out = capsys.readouterr().out
    assert (
        "namespaces/owned.team/kv.yaml:2:1: KV pair owned.team/region is managed by 'terraform:prod', "
        "not by 'gitops:owned': declare it in one of them only" in out
    )
    assert weir.kv.get("owned.team", "region").value == "eu"
