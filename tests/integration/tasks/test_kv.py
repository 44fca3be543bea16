"""KV store tasks and the kv() function against the real store."""

from __future__ import annotations

import time
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.integration.tasks.conftest import Runner

KV = "io.kestra.plugin.core.kv"


def _set(runner: Runner, **props: Any) -> State:
    return runner.run({"id": "set", "type": f"{KV}.Set", **props}).state


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
    time.sleep(0.7)
    assert _get(runner, "short") is None


def test_get_with_error_on_missing_fails(runner: Runner) -> None:
    result = runner.run({"id": "g", "type": f"{KV}.Get", "key": "nope", "errorOnMissing": True})
    assert result.state is State.FAILED
    assert result.error == "the key 'nope' does not exist in namespace 'company.team'"


def test_delete_and_get_keys(runner: Runner) -> None:
    for key in ("app_a", "app_b", "other"):
        assert _set(runner, key=key, value="x", namespace="shared") is State.SUCCESS
    keys = runner.run({"id": "k", "type": f"{KV}.GetKeys", "prefix": "app_", "namespace": "shared"})
    assert sorted(keys.outputs["keys"]) == ["app_a", "app_b"]
    deleted = runner.run({"id": "d", "type": f"{KV}.Delete", "key": "app_a", "namespace": "shared"})
    again = runner.run({"id": "d", "type": f"{KV}.Delete", "key": "app_a", "namespace": "shared"})
    assert deleted.outputs == {"deleted": True}
    assert again.outputs == {"deleted": False}


def test_kv_function_walks_parent_namespaces(runner: Runner) -> None:
    assert _set(runner, key="region", value="eu", namespace="company") is State.SUCCESS
    result = runner.run(
        {
            "id": "r",
            "type": "io.kestra.plugin.core.debug.Return",
            "format": "{{ kv('region') }}/{{ kv('missing', errorOnMissing=false) ?? 'none' }}",
        }
    )
    assert result.outputs == {"value": "eu/none"}
