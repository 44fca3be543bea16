"""The diff is a pure function of two inventories: ownership, protection, order, equality."""

from __future__ import annotations

from controlplane.gitops.config import map_namespace
from controlplane.gitops.diff import diff
from controlplane.gitops.flows import field_changes
from controlplane.gitops.inventory import Actual, Desired, Inventory, Key
from controlplane.gitops.load import rewrite_namespaces
from controlplane.spec.problems import Location

HERE = Location("f.yaml", 1, 1, ())
ME = "gitops:me"


def desired(*items: tuple[Key, object] | tuple[Key, object, tuple[Key, ...]]) -> Inventory:
    inventory = Inventory()
    for item in items:
        calls = item[2] if len(item) == 3 else ()  # type: ignore[misc]
        inventory.add(Desired(item[0], item[1], HERE, calls=calls))
    return inventory


def actual(*items: tuple[Key, object, str | None]) -> Inventory:
    inventory = Inventory()
    for key, value, manager in items:
        inventory.add(Actual(key, value, manager, 3))
    return inventory


def flow(namespace: str, name: str) -> Key:
    return Key("flow", namespace, name)


def test_creates_updates_and_conflicts_follow_the_manager() -> None:
    result = diff(
        desired((flow("a", "new"), "x"), (flow("a", "mine"), "y"), (flow("a", "theirs"), "z"),
                (flow("a", "handmade"), "w"), (flow("a", "same"), "s")),
        actual((flow("a", "mine"), "old", ME), (flow("a", "theirs"), "old", "terraform"),
               (flow("a", "handmade"), "old", None), (flow("a", "same"), "s", "terraform")),
        manager=ME,
        protects=lambda ns: ns == "system",
    )  # fmt: skip
    assert [(c.action, c.key.name) for c in result.changes] == [
        ("update", "handmade"),
        ("update", "mine"),
        ("create", "new"),
    ]
    assert [c.key.name for c in result.conflicts] == ["theirs"]
    assert result.unchanged == 1


def test_only_own_objects_outside_protected_namespaces_are_deleted() -> None:
    result = diff(
        desired(),
        actual((flow("a", "mine"), "x", ME), (flow("a", "tf"), "x", "terraform"),
               (flow("a", "none"), "x", None), (flow("system", "mine"), "x", ME),
               (flow("a", "other"), "x", "gitops:other")),
        manager=ME,
        protects=lambda ns: ns == "system",
    )  # fmt: skip
    assert [c.key for c in result.deletes] == [flow("a", "mine")]
    assert [c.key for c in result.protected] == [flow("system", "mine")]


def test_writes_run_parents_first_subflows_before_callers_and_deletes_in_reverse() -> None:
    parent, child, grandchild = flow("a", "parent"), flow("a", "child"), flow("a", "grandchild")
    result = diff(
        desired(
            (parent, "p", (child,)),
            (child, "c", (grandchild,)),
            (grandchild, "g"),
            (Key("namespace", "a.b", "a.b"), None),
            (Key("namespace", "a", "a"), None),
            (Key("kv", "a", "k"), ("STRING", "v")),
        ),
        actual(
            (Key("namespace", "old", "old"), {}, ME),
            (Key("kv", "old", "k"), ("STRING", "v"), ME),
            (flow("old", "f"), "x", ME),
        ),
        manager=ME,
        protects=lambda ns: False,
    )
    assert [str(c.key) for c in result.changes] == [
        "namespace a",
        "namespace a.b",
        "KV pair a/k",
        "flow a/grandchild",
        "flow a/child",
        "flow a/parent",
    ]
    assert [str(c.key) for c in result.deletes] == ["flow old/f", "KV pair old/k", "namespace old"]


def test_values_are_compared_by_meaning() -> None:
    key = Key("kv", "a", "k")
    same = diff(
        desired(
            (key, ("DURATION", "PT60M")),
            (Key("kv", "a", "t"), ("DATETIME", "2026-01-01T00:00:00Z")),
        ),
        actual(
            (key, ("DURATION", "PT1H"), ME),
            (Key("kv", "a", "t"), ("DATETIME", "2026-01-01T00:00:00+00:00"), ME),
        ),
        manager=ME,
        protects=lambda ns: False,
    )
    assert same.empty and same.unchanged == 2
    retyped = diff(
        desired((key, ("STRING", "1"))),
        actual((key, ("NUMBER", 1), ME)),
        manager=ME,
        protects=lambda ns: False,
    )
    assert [c.action for c in retyped.changes] == ["update"]


def test_drift_is_a_revision_other_than_the_one_last_written() -> None:
    key = flow("a", "f")
    result = diff(desired((key, "new")), actual((key, "old", None)), manager=ME,
                  protects=lambda ns: False, last={key: 2})  # fmt: skip
    assert result.changes[0].drift


def test_field_changes_match_list_items_by_id() -> None:
    before = "id: f\nnamespace: a\ntasks:\n  - id: one\n    type: t\n  - id: two\n    type: t\n"
    after = "id: f\nnamespace: a\ntasks:\n  - id: zero\n    type: t\n  - id: one\n    type: t\n  - id: two\n    type: u\n"
    changes = [(c.path, c.action, c.line) for c in field_changes(before, after)]
    assert changes == [("tasks[two].type", "change", 9), ("tasks[zero]", "add", 4)]
    assert field_changes(before, before.replace("id: f", "id: f  # comment")) == []


def test_namespaces_move_by_the_longest_prefix_in_flows_too() -> None:
    overrides = {"company": "staging.company", "company.secret": "vault.company"}
    assert map_namespace("company.team", overrides) == "staging.company.team"
    assert map_namespace("company.secret.x", overrides) == "vault.company.x"
    assert map_namespace("companyx", overrides) == "companyx"
    text = (
        "id: f\nnamespace: company.team # here\ntasks:\n  - id: s\n"
        '    type: io.kestra.plugin.core.flow.Subflow\n    namespace: "company"\n'
        "    flowId: g\n  - id: log\n    message: 'namespace: company'\n"
    )
    moved = rewrite_namespaces(text, overrides)
    assert "namespace: staging.company.team # here" in moved
    assert 'namespace: "staging.company"' in moved
    assert "message: 'namespace: company'" in moved
