"""git.NamespaceSync against a real bare repository served over smart HTTP with basic auth, on
the shape of kestra-io/blueprints' ``namespace-sync-from-git`` flow: with GIT as the source of
truth the namespace follows ``<gitDirectory>/<namespace>/{flows,files}``; with KESTRA the
repository follows the namespace, committed and pushed; a dry run changes neither side."""

from __future__ import annotations

from pathlib import Path

from controlplane.engine.control import StoreControlPlane
from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows
from tests.integration.tasks.test_git import (  # noqa: F401  (fixtures)
    TOKEN,
    Repo,
    git,
    http_git,
    repo,
)


def _flow(namespace: str, flow_id: str, message: str = "hi") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n"
        f"  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
    )


def _sync(url: str, namespace: str, source: str, missing: str, **extra: str) -> str:
    lines = [
        "  - id: sync",
        "    type: io.kestra.plugin.git.NamespaceSync",
        f"    namespace: {namespace}",
        f"    sourceOfTruth: {source}",
        f"    whenMissingInSource: {missing}",
        "    protectedNamespaces:\n      - system",
        f"    url: {url}",
        "    username: bot",
        "    password: \"{{ secret('GITHUB_ACCESS_TOKEN') }}\"",
        "    branch: main",
        "    gitDirectory: example_directory",
    ]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def _rows(flows: Flows, uri: str) -> list[dict[str, str]]:
    with flows.store.files.open(uri) as stream:
        return list(read_values(stream.read().decode()))


def _secret(flows: Flows, namespace: str) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret(namespace, "GITHUB_ACCESS_TOKEN", TOKEN)


def test_git_as_the_source_of_truth_makes_the_namespace_follow_the_repository(
    flows: Flows,
    repo: Repo,  # noqa: F811
    http_git: tuple[str, list[str]],  # noqa: F811
) -> None:
    url, _ = http_git
    repo.commit(
        {
            "example_directory/company.team/flows/hello.yaml": _flow("company.team", "hello"),
            "example_directory/company.team/files/scripts/etl.py": "print('etl')\n",
            "example_directory/company.other/flows/elsewhere.yaml": _flow("company.other", "x"),
        }
    )
    _secret(flows, "company.team")
    with flows.store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "old", _flow("company.team", "old"), None)
    control = StoreControlPlane(flows.store)
    control.save_file("company.team", "stale.txt", b"stale\n", None)
    source = "id: namespace-sync-from-git\nnamespace: company.team\ntasks:\n"
    source += _sync(url, "company.team", "GIT", "DELETE")
    final = flows.run(source)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (outputs,) = [r.outputs for r in final.task_runs]
    assert outputs["commitId"] is None
    rows = {(r["kind"], r["key"]): (r["action"], r["file"]) for r in _rows(flows, outputs["diff"])}
    assert rows == {
        ("FLOW", "company.team:hello"): ("ADDED", "company.team/flows/hello.yaml"),
        ("FLOW", "company.team:old"): ("DELETED_KES", "company.team/flows/old.yaml"),
        ("FILE", "company.team:scripts/etl.py"): (
            "ADDED",
            "company.team/files/scripts/etl.py",
        ),
        ("FILE", "company.team:stale.txt"): ("DELETED_KES", "company.team/files/stale.txt"),
    }
    names = {f.flow_id for f in control.list_flows("company.team")}
    assert names == {"hello", "namespace-sync-from-git"}  # the running flow is never deleted
    assert control.list_flows("company.other") == []
    assert control.read_file("company.team", "scripts/etl.py") == b"print('etl')\n"
    assert control.read_file("company.team", "stale.txt") is None


def test_kestra_as_the_source_of_truth_commits_the_namespace_to_the_repository(
    flows: Flows,
    repo: Repo,  # noqa: F811
    http_git: tuple[str, list[str]],  # noqa: F811
    tmp_path: Path,
) -> None:
    url, _ = http_git
    repo.commit(
        {
            "example_directory/company.data/flows/gone.yaml": _flow("company.data", "gone"),
            "example_directory/company.data/flows/etl.yaml": _flow("company.data", "etl", "v1"),
            "README.md": "sync\n",
        }
    )
    before = git("rev-parse", "HEAD", cwd=repo.work)
    _secret(flows, "company.data")
    with flows.store.unit() as repos:
        etl = _flow("company.data", "etl", "v2")
        repos.flows.create_flow_revision("company.data", "etl", etl, None)
    StoreControlPlane(flows.store).save_file("company.data", "queries/q.sql", b"select 1\n", None)
    source = "id: namespace-sync-to-git\nnamespace: company.data\ntasks:\n"
    source += _sync(url, "company.data", "KESTRA", "DELETE", dryRun="true").replace(
        "id: sync", "id: plan"
    )
    source += _sync(url, "company.data", "KESTRA", "DELETE", authorName="Kestra Bot")
    final = flows.run(source)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}

    planned = {(r["key"], r["action"]) for r in _rows(flows, outputs["plan"]["diff"])}
    assert planned == {
        ("company.data:etl", "UPDATED_GIT"),
        ("company.data:gone", "DELETED_GIT"),
        ("company.data:namespace-sync-to-git", "ADDED"),
        ("company.data:queries/q.sql", "ADDED"),
    }
    assert outputs["plan"]["commitId"] is None

    synced = outputs["sync"]
    clone = tmp_path / "check"
    git("clone", "-q", repo.bare.as_uri(), str(clone), cwd=tmp_path)
    assert git("rev-parse", "HEAD", cwd=clone) == synced["commitId"]
    assert git("rev-parse", "HEAD~1", cwd=clone) == before
    assert git("log", "-1", "--format=%s|%an", cwd=clone) == "Namespace sync from Kestra|Kestra Bot"
    base = clone / "example_directory" / "company.data"
    assert (base / "flows" / "etl.yaml").read_text() == _flow("company.data", "etl", "v2")
    assert (base / "flows" / "namespace-sync-to-git.yaml").exists()
    assert not (base / "flows" / "gone.yaml").exists()
    assert (base / "files" / "queries" / "q.sql").read_bytes() == b"select 1\n"
    assert (clone / "README.md").exists()
    lines = {r["file"]: r for r in _rows(flows, synced["diff"])}
    assert lines["example_directory/company.data/flows/etl.yaml"]["changes"] == "1"
    assert lines["example_directory/company.data/flows/gone.yaml"]["deletions"] == "-6"
    assert TOKEN not in " ".join(flows.logs(final))


def test_tenant_sync_from_git_covers_every_namespace_of_both_sides(
    flows: Flows,
    repo: Repo,  # noqa: F811
    http_git: tuple[str, list[str]],  # noqa: F811
) -> None:
    url, _ = http_git
    repo.commit(
        {
            "example_directory/company.a/flows/one.yaml": _flow("company.a", "one"),
            "example_directory/company.b/files/data.csv": "id\n1\n",
            "example_directory/_global/dashboards/board.yaml": "title: ignored\n",
        }
    )
    _secret(flows, "company")
    with flows.store.unit() as repos:
        repos.flows.create_flow_revision("company.c", "gone", _flow("company.c", "gone"), None)
    source = "id: tenant-sync-from-git\nnamespace: company\ntasks:\n"
    source += _sync(url, "company", "GIT", "DELETE").replace(
        "type: io.kestra.plugin.git.NamespaceSync\n    namespace: company\n",
        "type: io.kestra.plugin.git.TenantSync\n",
    )
    final = flows.run(source)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (outputs,) = [r.outputs for r in final.task_runs]
    rows = {(r["key"], r["action"]) for r in _rows(flows, outputs["diff"])}
    assert rows == {
        ("company.a:one", "ADDED"),
        ("company.b:data.csv", "ADDED"),
        ("company.c:gone", "DELETED_KES"),
    }
    control = StoreControlPlane(flows.store)
    assert [f.flow_id for f in control.list_flows("company.a")] == ["one"]
    assert control.read_file("company.b", "data.csv") == b"id\n1\n"
    assert control.list_flows("company.c") == []
    assert [f.flow_id for f in control.list_flows("company")] == ["tenant-sync-from-git"]
