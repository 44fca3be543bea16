"""The reconciler end to end: real git repositories, a live server over HTTP, the CLI's exit codes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from controlplane.cli.main import main
from controlplane.client import WeirClient
from controlplane.client.errors import NotFound
from controlplane.gitops.apply import apply_plan
from controlplane.gitops.plan import make_plan
from controlplane.gitops.reconcile import reconcile
from controlplane.gitops.source import fetch
from tests.integration.api.conftest import LiveServer
from tests.integration.gitops.conftest import Repo

SCHEDULE = (
    "triggers:\n  - id: nightly\n    type: io.kestra.plugin.core.trigger.Schedule\n"
    '    cron: "0 2 * * *"\n'
)


def gitops(capsys: pytest.CaptureFixture[str], server: LiveServer, *args: str) -> tuple[int, str]:
    code = main(["gitops", *args, "--server", server.url])
    out = capsys.readouterr()
    return code, out.out + out.err


def plan_json(capsys: pytest.CaptureFixture[str], server: LiveServer, *args: str) -> dict:  # type: ignore[type-arg]
    code, out = gitops(capsys, server, "plan", "--format", "json", *args)
    data = json.loads(out)
    assert data["exit_code"] == code
    return data  # type: ignore[no-any-return]


def actions(data: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    rows = data["changes"] + data["deletes"]
    return {(row["action"], f"{row['kind']} {row['namespace']}/{row['name']}") for row in rows}


def test_first_apply_creates_everything_and_a_second_plan_has_nothing(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("weir.yaml", "name: first\nnamespaces: [first.team]\n")
    repo.write(
        "namespaces/first.team/namespace.yaml",
        "description: Team\nvariables: {a: 1}\nallowedNamespaces: [partner.team]\n",
    )
    repo.flow("first.team", "hello", extra=SCHEDULE)
    repo.write("namespaces/first.team/files/scripts/etl.py", "print('etl')\n")
    repo.write("namespaces/first.team/kv.yaml", "region: eu\nlimits: {type: JSON, value: {n: 2}}\n")
    commit = repo.commit()

    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root))
    assert code == 1
    assert "+ flow first.team/hello" in out
    assert "first.team/hello trigger nightly: (none) → 0 2 * * *" in out

    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root))
    assert code == 0, out
    assert "Ready (ReconciliationSucceeded): 5 created" in out
    assert weir.namespaces.get("first.team").description == "Team"
    assert weir.namespaces.get("first.team").allowed_namespaces == ("partner.team",)
    flow = weir.flows.get("first.team", "hello")
    assert flow.managed_by == "gitops:first"
    assert weir.kv.get("first.team", "limits").value == {"n": 2}
    assert weir.files.read("first.team", "scripts/etl.py") == b"print('etl')\n"

    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root))
    assert code == 0, out
    assert "no changes: 5 object(s) in sync" in out

    code, out = gitops(capsys, live_server, "status", "--source", str(repo.root))
    assert code == 0, out
    assert commit[:12] in out and "no drift" in out


def test_a_commit_that_edits_renames_and_deletes_plans_exactly_those_changes(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("weir.yaml", "name: second\n")
    for flow_id in ("edited", "renamed", "deleted", "kept"):
        repo.flow("second.team", flow_id)
    repo.commit()
    assert gitops(capsys, live_server, "apply", "--source", str(repo.root))[0] == 0

    repo.flow("second.team", "edited", message="changed")
    repo.remove("namespaces/second.team/flows/renamed.yaml")
    repo.flow("second.team", "renamed-now")
    repo.remove("namespaces/second.team/flows/deleted.yaml")
    repo.commit("edit, rename, delete")

    data = plan_json(capsys, live_server, "--source", str(repo.root), "--prune")
    assert data["exit_code"] == 1
    assert actions(data) == {
        ("update", "flow second.team/edited"),
        ("create", "flow second.team/renamed-now"),
        ("delete", "flow second.team/renamed"),
        ("delete", "flow second.team/deleted"),
    }
    fields = data["changes"][0]["fields"]
    assert fields == [
        {
            "path": "tasks[log].message",
            "action": "change",
            "line": 6,
            "before": "hello",
            "after": "changed",
        }
    ]
    # Without --prune, what is no longer declared is kept, and the plan says so.
    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root))
    assert code == 1
    assert "Kept on the server (no longer declared; prune is off" in out
    assert "= flow second.team/deleted" in out

    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root), "--prune")
    assert code == 0, out
    ids = {f.id for f in weir.flows.list_in("second.team")}
    assert ids == {"edited", "renamed-now", "kept"}
    assert "message: changed" in weir.flows.get("second.team", "edited").source
    assert gitops(capsys, live_server, "plan", "--source", str(repo.root), "--prune")[0] == 0


def test_prune_deletes_only_what_this_source_manages_and_never_a_protected_namespace(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("weir.yaml", "name: third\nnamespaces: [third.team, system]\nprune: true\n")
    repo.flow("third.team", "mine")
    repo.flow("system", "third-maintenance")
    repo.commit()
    assert gitops(capsys, live_server, "apply", "--source", str(repo.root))[0] == 0
    source = "id: {0}\nnamespace: third.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
    with WeirClient(live_server.url, manager="terraform") as terraform:
        terraform.flows.put(source.format("from-terraform"))
        terraform.kv.set("third.team", "tf-key", "v")
    with WeirClient(live_server.url, manager="gitops:other") as other:
        other.flows.put(source.format("from-other-source"))
    weir.flows.put(source.format("by-hand"))

    repo.remove("namespaces/third.team/flows/mine.yaml")
    repo.flow("third.team", "replacement")
    repo.remove("namespaces/system/flows/third-maintenance.yaml")
    repo.commit()
    data = plan_json(capsys, live_server, "--source", str(repo.root))
    assert [(d["name"]) for d in data["deletes"]] == ["mine"]
    assert data["protected"] == [
        {"kind": "namespace", "namespace": "system", "name": "system"},
        {"kind": "flow", "namespace": "system", "name": "third-maintenance"},
    ]
    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root))
    assert code == 0, out
    ids = {f.id: f.managed_by for f in weir.flows.list_in("third.team")}
    assert ids == {
        "replacement": "gitops:third",
        "from-terraform": "terraform",
        "from-other-source": "gitops:other",
        "by-hand": None,
    }
    assert weir.kv.get("third.team", "tf-key").managed_by == "terraform"
    assert weir.flows.get("system", "third-maintenance").managed_by == "gitops:third"


def test_declaring_an_object_another_manager_owns_is_a_conflict_and_nothing_is_written(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    with WeirClient(live_server.url, manager="terraform") as terraform:
        terraform.flows.put(
            "id: shared\nnamespace: fourth.team\ntasks:\n  - id: log\n"
            "    type: io.kestra.plugin.core.log.Log\n    message: terraform\n"
        )
    repo.flow("fourth.team", "shared", message="git")
    repo.flow("fourth.team", "other")
    repo.commit()
    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root))
    assert code == 2
    assert (
        "namespaces/fourth.team/flows/shared.yaml:1:1: flow fourth.team/shared is managed by "
        "'terraform', not by 'gitops:source': declare it in one of them only. To move it here, "
        "forget it in that Terraform state (a removed block with destroy = false)" in out
    )
    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root))
    assert code == 1
    assert "Stalled (Conflict)" in out
    with pytest.raises(NotFound):
        weir.flows.get("fourth.team", "other")


def test_a_flow_edited_through_the_api_is_drift_and_the_next_apply_restores_it(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = repo.flow("fifth.team", "watched")
    repo.commit()
    assert gitops(capsys, live_server, "apply", "--source", str(repo.root))[0] == 0
    # Managed by GitOps, the flow is read-only in the API unless forced.
    weir.flows.put(declared.replace("hello", "edited by hand"), force=True)

    code, out = gitops(capsys, live_server, "status", "--source", str(repo.root))
    assert code == 1
    assert "flow fifth.team/watched: revision 1 → 2 (by no manager)" in out
    data = plan_json(capsys, live_server, "--source", str(repo.root))
    assert [(c["name"], c["drift"]) for c in data["changes"]] == [("watched", True)]

    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root))
    assert code == 0, out
    assert "drift restored: flow fifth.team/watched" in out
    restored = weir.flows.get("fifth.team", "watched")
    assert restored.source == declared and restored.managed_by == f"gitops:{repo.root.name}"
    assert gitops(capsys, live_server, "status", "--source", str(repo.root))[0] == 0


def test_a_write_refused_as_stale_is_read_again_and_retried(
    repo: Repo, live_server: LiveServer, weir: WeirClient
) -> None:
    repo.write("weir.yaml", "name: racer\n")
    repo.flow("sixth.team", "contended", message="one")
    repo.commit()
    assert reconcile(str(repo.root), server=live_server.url).ready
    repo.flow("sixth.team", "contended", message="two")
    repo.commit()
    checkout = fetch(str(repo.root))
    with WeirClient(live_server.url, manager="gitops:racer") as client:
        plan = make_plan(client, checkout)
        # Another reconciler of the same source writes between this one's read and write.
        client.flows.put(
            (repo.root / "namespaces/sixth.team/flows/contended.yaml")
            .read_text()
            .replace("two", "three")
        )
        applied = apply_plan(client, plan)
    assert applied.retried == 1
    assert applied.updated == [plan.diff.changes[0].key]
    flow = weir.flows.get("sixth.team", "contended")
    assert "message: two" in flow.source and flow.revision == 3


def test_two_reconcilers_racing_on_one_namespace_lose_no_update(
    tmp_path: Path, live_server: LiveServer, weir: WeirClient
) -> None:
    sources = []
    for name in ("left", "right"):
        repo = Repo(tmp_path / name)
        repo.write("weir.yaml", f"name: {name}\nnamespaces: [seventh.shared]\nprune: true\n")
        for index in range(8):
            repo.flow("seventh.shared", f"{name}-{index}", message=f"{name} {index}")
        repo.write("namespaces/seventh.shared/kv.yaml", f"{name}-key: {name}\n")
        repo.commit()
        sources.append(repo)
    results: list[str] = []

    def run(repo: Repo) -> None:
        for _ in range(4):
            summary = reconcile(str(repo.root), server=live_server.url)
            results.append(summary.line())

    threads = [threading.Thread(target=run, args=(repo,)) for repo in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(line.startswith("Ready") for line in results), results
    flows = {f.id: f.managed_by for f in weir.flows.list_in("seventh.shared")}
    assert flows == {
        **{f"left-{i}": "gitops:left" for i in range(8)},
        **{f"right-{i}": "gitops:right" for i in range(8)},
    }
    assert weir.kv.get("seventh.shared", "left-key").value == "left"
    assert weir.kv.get("seventh.shared", "right-key").value == "right"


def test_invalid_files_are_reported_at_file_and_line_and_nothing_is_applied(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("weir.yaml", "name: eighth\nnamespaces: [eighth.team]\n")
    repo.flow("eighth.team", "good")
    repo.write(
        "namespaces/eighth.team/flows/bad.yaml",
        "id: bad\nnamespace: eighth.team\ntasks:\n  - id: x\n    type: io.kestra.plugin.core.log.Nope\n",
    )
    repo.flow("eighth.team", "elsewhere")
    repo.write(
        "namespaces/eighth.team/flows/elsewhere.yaml",
        (repo.root / "namespaces/eighth.team/flows/elsewhere.yaml")
        .read_text()
        .replace("namespace: eighth.team", "namespace: eighth.other"),
    )
    repo.flow("ninth.team", "not-owned")
    repo.commit()
    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root))
    assert code == 2
    assert "namespaces/eighth.team/flows/bad.yaml:5:5: error at tasks[0].type" in out
    assert (
        "namespaces/eighth.team/flows/elsewhere.yaml:2:1: error at namespace: the flow declares namespace eighth.other"
        in out
    )
    assert "namespace ninth.team is not owned by source eighth" in out
    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root))
    assert code == 1 and "Stalled (InvalidSource)" in out
    with pytest.raises(NotFound):
        weir.flows.get("eighth.team", "good")


def test_a_retyped_input_that_a_caller_passes_is_a_broken_contract(
    repo: Repo, live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = "inputs:\n  - id: size\n    type: {0}\n    defaults: {1}\n"
    repo.flow("tenth.team", "child", extra=inputs.format("STRING", "small"))
    repo.write(
        "namespaces/tenth.team/flows/parent.yaml",
        "id: parent\nnamespace: tenth.team\ntasks:\n  - id: call\n"
        "    type: io.kestra.plugin.core.flow.Subflow\n    namespace: tenth.team\n"
        "    flowId: child\n    inputs:\n      size: large\n"
        "  - id: after\n    type: io.kestra.plugin.core.log.Log\n    message: done\n",
    )
    repo.commit()
    assert gitops(capsys, live_server, "apply", "--source", str(repo.root))[0] == 0
    repo.flow("tenth.team", "child", extra=inputs.format("INT", "1"))
    repo.commit()
    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root))
    assert code == 2
    assert (
        "namespaces/tenth.team/flows/parent.yaml:9:7: tenth.team/parent passes input 'size' as "
        "a str ('large'), but tenth.team/child declares it INT"
    ) in out
    # Deleting the subflow breaks the call too, once pruning would delete it.
    repo.flow("tenth.team", "child", extra=inputs.format("STRING", "small"))
    repo.remove("namespaces/tenth.team/flows/child.yaml")
    repo.commit()
    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root), "--prune")
    assert code == 2
    assert "tenth.team/parent calls tenth.team/child, which is deleted" in out


def test_an_environment_moves_namespaces_and_the_references_to_them(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write(
        "weir.yaml",
        "name: eleventh\nnamespaces: [eleventh]\nenvironments:\n  staging:\n"
        "    namespaces:\n      eleventh: staging.eleventh\n",
    )
    repo.flow("eleventh.team", "child")
    repo.write(
        "namespaces/eleventh.team/flows/parent.yaml",
        "id: parent\nnamespace: eleventh.team  # moved per environment\ntasks:\n  - id: call\n"
        "    type: io.kestra.plugin.core.flow.Subflow\n    namespace: 'eleventh.team'\n"
        "    flowId: child\n",
    )
    repo.commit()
    code, out = gitops(capsys, live_server, "apply", "--source", str(repo.root), "--env", "staging")
    assert code == 0, out
    parent = weir.flows.get("staging.eleventh.team", "parent")
    assert "namespace: staging.eleventh.team  # moved per environment" in parent.source
    assert "namespace: 'staging.eleventh.team'" in parent.source
    code, out = gitops(capsys, live_server, "plan", "--source", str(repo.root), "--env", "prod")
    assert code == 2
    assert "environment 'prod' is not declared under environments (declared: staging)" in out


def test_a_git_url_and_ref_are_fetched_and_the_commit_recorded(
    repo: Repo, live_server: LiveServer, weir: WeirClient, tmp_path: Path
) -> None:
    repo.flow("twelfth.team", "tagged", message="v1")
    first = repo.commit()
    repo.git("tag", "v1")
    repo.flow("twelfth.team", "tagged", message="v2")
    repo.commit()
    summary = reconcile(
        f"file://{repo.root}", ref="v1", server=live_server.url, cache=tmp_path / "cache"
    )
    assert summary.ready, summary.line()
    assert summary.commit == first
    assert "message: v1" in weir.flows.get("twelfth.team", "tagged").source
    summary = reconcile(
        f"file://{repo.root}", ref="main", server=live_server.url, cache=tmp_path / "cache"
    )
    assert summary.ready and "message: v2" in weir.flows.get("twelfth.team", "tagged").source
    missing = reconcile(
        f"file://{repo.root}", ref="no-such-branch", server=live_server.url, cache=tmp_path / "c2"
    )
    assert not missing.ready and missing.reason == "FetchFailed"
    assert "no-such-branch" in missing.message


def test_the_markdown_plan_shows_fields_schedules_and_prunes(
    repo: Repo, live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.flow("thirteenth.team", "nightly", extra=SCHEDULE)
    repo.flow("thirteenth.team", "gone")
    repo.commit()
    assert gitops(capsys, live_server, "apply", "--source", str(repo.root))[0] == 0
    repo.flow("thirteenth.team", "nightly", extra=SCHEDULE.replace("0 2", "30 4"))
    repo.remove("namespaces/thirteenth.team/flows/gone.yaml")
    repo.commit()
    code, out = gitops(
        capsys, live_server, "plan", "--source", str(repo.root), "--format", "markdown"
    )
    assert code == 1
    assert out.startswith("### 📝 Weir plan: 0 to create, 1 to update, 0 to delete")
    assert (
        "| ~ | `flow thirteenth.team/nightly` | namespaces/thirteenth.team/flows/nightly.yaml |"
        in out
    )
    assert '~ triggers[nightly].cron (line 10): "0 2 * * *" → "30 4 * * *"' in out
    assert "| `thirteenth.team/nightly` | nightly | `0 2 * * *` | `30 4 * * *` |" in out
    assert (
        "#### Kept on the server: no longer declared, prune is off (`--prune` deletes)\n\n"
        "- `flow thirteenth.team/gone`\n" in out
    )
