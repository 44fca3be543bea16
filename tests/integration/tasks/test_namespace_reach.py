"""Tasks that reach the control plane (namespace files, KV purges) stop at another namespace's
wall unless it allows the flow's namespace; the namespaces below the flow's own stay its."""

from __future__ import annotations

from controlplane.engine.control import StoreControlPlane
from controlplane.engine.model import State
from controlplane.engine.ports import NamespaceRecord
from tests.integration.tasks.conftest import Runner

CORE = "io.kestra.plugin.core"


def _allow(runner: Runner, namespace: str, *callers: str) -> None:
    with runner.store.unit() as repos:
        repos.namespaces.update_namespace(
            NamespaceRecord(namespace, None, {}, {}, None, 0, tuple(callers))
        )


def test_another_namespaces_files_are_reached_only_when_it_allows_it(runner: Runner) -> None:
    StoreControlPlane(runner.store).save_file("other.team", "data.csv", b"a,b\n", None)
    download = {
        "id": "d",
        "type": f"{CORE}.namespace.DownloadFiles",
        "namespace": "other.team",
        "files": ["**"],
    }
    refused = runner.run(download)
    assert refused.state is State.FAILED
    assert (
        "namespace 'company.team' may not reach the namespace files of namespace 'other.team'"
        in (refused.error or "")
    )
    read = {
        "id": "r",
        "type": f"{CORE}.debug.Return",
        "format": "{{ read('nsfile://other.team/data.csv') }}",
    }
    unread = runner.run(read)
    assert unread.state is State.FAILED and "'other.team'" in (unread.error or "")
    _allow(runner, "other.team", "company.team")
    assert runner.run(download).state is State.SUCCESS
    assert runner.run(read).outputs == {"value": "a,b\n"}


def test_a_purge_stops_at_the_wall_and_the_namespaces_below_stay_the_flows(
    runner: Runner,
) -> None:
    for namespace in ("other.team", "company.team.sub"):
        _allow(runner, namespace)  # declared, allowing no one
        with runner.store.unit() as repos:
            repos.kv.update_kv(namespace, "k", "v", "STRING", None)
    refused = runner.run(
        {
            "id": "p",
            "type": f"{CORE}.kv.PurgeKV",
            "namespaces": ["other.team"],
            "expiredOnly": False,
        }
    )
    assert refused.state is State.SUCCESS and refused.outputs == {"size": 0}
    below = runner.run(
        {
            "id": "p",
            "type": f"{CORE}.kv.PurgeKV",
            "namespaces": ["company.team.sub"],
            "expiredOnly": False,
        }
    )
    assert below.outputs == {"size": 1}
    with runner.store.unit() as repos:
        assert repos.kv.read_kv("other.team", "k") is not None
