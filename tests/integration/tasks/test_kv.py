"""KV store tasks and the kv() function against the real store."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.engine.model import State
from controlplane.engine.ports import NamespaceRecord
from tests.integration.tasks.conftest import Runner
from tests.waiting import wait_until

KV = "io.kestra.plugin.core.kv"


def _set(runner: Runner, **props: Any) -> State:
    return runner.run({"id": "set", "type": f"{KV}.Set", **props}).state


def _allow(runner: Runner, namespace: str, *callers: str) -> None:
    """``namespace`` lets flows of ``callers`` reach its KV pairs (its allowedNamespaces)."""
    with runner.store.unit() as repos:
        repos.namespaces.update_namespace(
            NamespaceRecord(namespace, None, {}, {}, None, 0, tuple(callers))
        )


def _get(runner: Runner, key: str, **props: Any) -> Any:
    result = runner.run({"id": "get", "type": f"{KV}.Get", "key": key, **props})
    assert result.state is State.SUCCESS, result.error
    return result.outputs["value"]


def test_set_then_get_in_the_flows_namespace(runner: Runner) -> None:
    runner.run(
        {"id": "set", "type": f"{KV}.Set", "key": "k", "value": "hi {{ inputs.who }}"},
        inputs={"who": "Ada"},
    )
    assert _get(runner, "k") == "hi Ada"
    with runner.store.unit() as repos:
        entry = repos.kv.read_kv("company.team", "k")
    assert entry is not None and entry.type == "STRING"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("42", "NUMBER", 42),
        ("{{ 1.5 }}", "NUMBER", 1.5),
        ("true", "BOOLEAN", True),
        ("2025-01-31T08:00:00Z", "DATETIME", "2025-01-31T08:00:00+00:00"),
        ("2025-01-31", "DATE", "2025-01-31"),
        ("PT90M", "DURATION", "PT1H30M"),
        ('{"a": [1, 2]}', "JSON", {"a": [1, 2]}),
        ("{{ {'a': 1} }}", None, {"a": 1}),
        (7, "STRING", "7"),
    ],
)
def test_kv_type_coerces_the_value(
    runner: Runner, value: Any, kind: str | None, expected: Any
) -> None:
    props: dict[str, Any] = {"key": "k", "value": value}
    if kind:
        props["kvType"] = kind
    assert _set(runner, **props) is State.SUCCESS
    assert _get(runner, "k") == expected


@pytest.mark.parametrize(("value", "kind"), [("abc", "NUMBER"), ("yes", "BOOLEAN"), ("x", "DATE")])
def test_kv_type_refuses_a_wrong_value(runner: Runner, value: str, kind: str) -> None:
    result = runner.run(
        {"id": "set", "type": f"{KV}.Set", "key": "k", "value": value, "kvType": kind}
    )
    assert result.state is State.FAILED
    assert f"of key 'k' is not a valid {kind}" in (result.error or "")


def test_overwrite_false_fails_when_the_key_exists(runner: Runner) -> None:
    assert _set(runner, key="k", value="1", overwrite=False) is State.SUCCESS
    result = runner.run(
        {"id": "set", "type": f"{KV}.Set", "key": "k", "value": "2", "overwrite": False}
    )
    assert result.state is State.FAILED
    assert "already exists" in (result.error or "")
    assert _get(runner, "k") == "1"


def test_ttl_expires_the_value(runner: Runner) -> None:
    assert _set(runner, key="short", value="v", ttl="PT0.5S") is State.SUCCESS
    assert _get(runner, "short") == "v"
    wait_until(lambda: _get(runner, "short"), lambda value: value is None, "the pair to expire")


def test_get_with_error_on_missing_fails(runner: Runner) -> None:
    result = runner.run({"id": "g", "type": f"{KV}.Get", "key": "nope", "errorOnMissing": True})
    assert result.state is State.FAILED
    assert result.error == "the key 'nope' does not exist in namespace 'company.team'"


def test_delete_and_get_keys(runner: Runner) -> None:
    _allow(runner, "shared", "company")
    for key in ("app_a", "app_b", "other"):
        assert _set(runner, key=key, value="x", namespace="shared") is State.SUCCESS
    keys = runner.run({"id": "k", "type": f"{KV}.GetKeys", "prefix": "app_", "namespace": "shared"})
    assert sorted(keys.outputs["keys"]) == ["app_a", "app_b"]
    deleted = runner.run({"id": "d", "type": f"{KV}.Delete", "key": "app_a", "namespace": "shared"})
    again = runner.run({"id": "d", "type": f"{KV}.Delete", "key": "app_a", "namespace": "shared"})
    assert deleted.outputs == {"deleted": True}
    assert again.outputs == {"deleted": False}


def test_kv_function_walks_parent_namespaces(runner: Runner) -> None:
    with runner.store.unit() as repos:
        repos.kv.update_kv("company", "region", "eu", "STRING", None)
    result = runner.run(
        {
            "id": "r",
            "type": "io.kestra.plugin.core.debug.Return",
            "format": "{{ kv('region') }}/{{ kv('missing', errorOnMissing=false) ?? 'none' }}",
        }
    )
    assert result.outputs == {"value": "eu/none"}


def test_another_namespace_is_reached_only_when_it_allows_it(runner: Runner) -> None:
    with runner.store.unit() as repos:
        repos.kv.update_kv("other.team", "token", "theirs", "STRING", None)
    read = runner.run(
        {"id": "r", "type": "io.kestra.plugin.core.debug.Return",
         "format": "{{ kv('token', namespace='other.team') }}"}
    )  # fmt: skip
    assert read.state is State.FAILED
    assert "namespace 'company.team' may not reach the KV pairs of namespace 'other.team'" in (
        read.error or ""
    )
    assert "allowedNamespaces of namespace 'other.team'" in (read.error or "")
    # An ancestor's pairs are readable, not writable.
    parent = runner.run({"id": "s", "type": f"{KV}.Set", "key": "k", "value": "v",
                         "namespace": "company"})  # fmt: skip
    assert parent.state is State.FAILED and "of namespace 'company'" in (parent.error or "")
    _allow(runner, "other.team", "company.team")
    assert _get(runner, "token", namespace="other.team") == "theirs"


def test_a_managed_pair_is_neither_overwritten_nor_deleted_by_a_task(runner: Runner) -> None:
    with runner.store.unit() as repos:
        repos.kv.update_kv("company.team", "owned", "kept", "STRING", None, managed_by="terraform")
    overwrite = runner.run({"id": "s", "type": f"{KV}.Set", "key": "owned", "value": "x"})
    delete = runner.run({"id": "d", "type": f"{KV}.Delete", "key": "owned"})
    for result, action in ((overwrite, "overwrite"), (delete, "delete")):
        assert result.state is State.FAILED
        assert (
            f"Cannot {action} the KV pair 'owned' of namespace 'company.team': it is managed "
            "by terraform" in (result.error or "")
        )
    assert _get(runner, "owned") == "kept"
