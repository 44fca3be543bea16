"""Namespaces, secrets, KV pairs and namespace files through the client, on a live server,
with the control-plane rules (If-Match, managers, force)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from controlplane.client import Conflict, Invalid, NotFound, WeirClient
from controlplane.client.models import KvPair
from tests.integration.api.conftest import LiveServer


def test_a_namespace_is_created_read_listed_and_deleted(weir: WeirClient) -> None:
    created = weir.namespaces.put("client.ns", description="Data", labels={"team": "data"})
    assert (created.name, created.parent, created.revision) == ("client.ns", "client", 1)
    assert (created.description, created.labels, created.managed_by) == (
        "Data", {"team": "data"}, None,
    )  # fmt: skip
    weir.namespaces.put("client.ns.raw", variables={"region": "eu"})
    assert weir.namespaces.get("client.ns.raw").variables == {"region": "eu"}
    listed = weir.namespaces.list(prefix="client.ns")
    assert ([n.name for n in listed.results], listed.total) == (["client.ns", "client.ns.raw"], 2)
    weir.namespaces.delete("client.ns.raw")
    with pytest.raises(NotFound) as gone:
        weir.namespaces.get("client.ns.raw")
    assert gone.value.message == "namespace client.ns.raw does not exist"


def test_writes_follow_if_match_and_the_manager_unless_forced(live: LiveServer) -> None:
    with (
        WeirClient(live.url, manager="terraform") as terraform,
        WeirClient(live.url, manager="gitops:main") as gitops,
    ):
        terraform.namespaces.put("client.rules", description="by terraform", if_match=0)
        with pytest.raises(Conflict) as stale:
            terraform.namespaces.put("client.rules", description="late", if_match=7)
        assert (stale.value.code, stale.value.revision) == ("revision_mismatch", 1)
        with pytest.raises(Conflict) as taken:
            gitops.namespaces.delete("client.rules")
        assert (taken.value.code, taken.value.managed_by) == ("managed_elsewhere", "terraform")
        assert "terraform" in taken.value.message
        forced = gitops.namespaces.put("client.rules", description="by gitops", force=True)
        assert (forced.managed_by, forced.revision) == ("gitops:main", 2)
        gitops.namespaces.delete("client.rules", if_match=2)


def test_a_namespace_holding_objects_is_not_deleted(weir: WeirClient) -> None:
    weir.namespaces.put("client.full")
    weir.kv.set("client.full", "k", "v")
    with pytest.raises(Conflict) as refused:
        weir.namespaces.delete("client.full")
    assert refused.value.code == "namespace_not_empty"


def test_a_bad_name_is_invalid(weir: WeirClient) -> None:
    with pytest.raises(Invalid) as invalid:
        weir.namespaces.put("Not A Name")
    assert invalid.value.status == 422
    assert invalid.value.problems[0]["location"] == ["path", "namespace"]


def test_secret_values_go_in_and_never_come_out(weir: WeirClient) -> None:
    first = weir.secrets.set("client.secrets", "DB_PASSWORD", "hunter2-first")
    assert (first.namespace, first.name, first.revision) == ("client.secrets", "DB_PASSWORD", 1)
    second = weir.secrets.set("client.secrets", "DB_PASSWORD", "hunter2-second", if_match=1)
    assert second.revision == 2 and second.fingerprint != first.fingerprint
    assert weir.secrets.get("client.secrets", "DB_PASSWORD") == second
    assert weir.secrets.list("client.secrets") == [second]
    assert "hunter2" not in repr(second)
    with pytest.raises(Conflict):
        weir.secrets.set("client.secrets", "DB_PASSWORD", "hunter2-third", if_match=1)
    weir.secrets.delete("client.secrets", "DB_PASSWORD")
    with pytest.raises(NotFound):
        weir.secrets.get("client.secrets", "DB_PASSWORD")


def test_kv_pairs_are_typed_and_may_expire(weir: WeirClient) -> None:
    text = weir.kv.set("client.kv", "greeting", "hello")
    assert (text.type, text.value, text.expires, text.revision) == ("STRING", "hello", None, 1)
    counted = weir.kv.set("client.kv", "count", 3, ttl=timedelta(hours=1))
    assert counted.type == "NUMBER" and counted.expires is not None
    left = counted.expires - datetime.now(UTC)
    assert timedelta(minutes=59) < left <= timedelta(hours=1)
    moment = weir.kv.set("client.kv", "when", datetime(2025, 1, 31, 8, tzinfo=UTC))
    assert (moment.type, moment.value) == ("DATETIME", "2025-01-31T08:00:00+00:00")
    every = weir.kv.set("client.kv", "every", timedelta(minutes=90))
    assert (every.type, every.value) == ("DURATION", "PT1H30M")
    config = weir.kv.set("client.kv", "config", {"hosts": ["a", "b"]}, ttl="P1D")
    assert (config.type, weir.kv.get("client.kv", "config").value) == (
        "JSON",
        {"hosts": ["a", "b"]},
    )
    listed = weir.kv.list("client.kv")
    assert sorted(k.key for k in listed) == ["config", "count", "every", "greeting", "when"]
    assert not any(isinstance(k, KvPair) for k in listed)
    with pytest.raises(Invalid) as wrong:
        weir.kv.set("client.kv", "count", "three", type="NUMBER")
    assert wrong.value.message == "value: a NUMBER must be a finite number"
    weir.kv.delete("client.kv", "greeting", if_match=1)
    with pytest.raises(NotFound):
        weir.kv.get("client.kv", "greeting")


def test_namespace_files_are_written_read_listed_and_deleted(weir: WeirClient) -> None:
    script = b"print('hello')\n"
    meta = weir.files.write("client.files", "scripts/etl one.py", script)
    assert (meta.path, meta.size, meta.revision) == ("scripts/etl one.py", len(script), 1)
    assert meta.sha256 == hashlib.sha256(script).hexdigest()
    assert weir.files.read("client.files", "scripts/etl one.py") == script
    weir.files.write("client.files", "data/a.csv", b"a,b\n")
    assert [f.path for f in weir.files.list("client.files", prefix="scripts/")] == [
        "scripts/etl one.py"
    ]
    with pytest.raises(Conflict):
        weir.files.write("client.files", "scripts/etl one.py", b"again", if_match=0)
    with pytest.raises(Invalid) as bad:
        weir.files.write("client.files", "scripts\\x.py", b"")
    assert bad.value.status == 400
    weir.files.delete("client.files", "scripts/etl one.py")
    with pytest.raises(NotFound):
        weir.files.read("client.files", "scripts/etl one.py")


def test_health_readiness_and_metrics(weir: WeirClient) -> None:
    assert weir.health() == {"status": "ok"}
    assert weir.ready() is True
    assert "# TYPE weir_executions gauge" in weir.metrics()
