"""Namespaces: create, replace with a new revision, list by prefix, delete."""

from __future__ import annotations

from controlplane.engine.ports import NamespaceRecord
from controlplane.store import SqlStore


def namespace(name: str, description: str | None = None) -> NamespaceRecord:
    return NamespaceRecord(
        name=name,
        description=description,
        variables={"region": "eu", "limits": {"cpu": 2}},
        labels={"team": "data"},
        managed_by="gitops:main",
        revision=0,
    )


def test_each_update_gives_the_next_revision(store: SqlStore) -> None:
    with store.unit() as repos:
        created = repos.namespaces.update_namespace(namespace("company.team"))
        replaced = repos.namespaces.update_namespace(namespace("company.team", "the team"))
    assert (created.revision, replaced.revision) == (1, 2)
    with store.unit() as repos:
        assert repos.namespaces.read_namespace("company.team") == replaced


def test_namespaces_list_by_prefix_and_delete(store: SqlStore) -> None:
    with store.unit() as repos:
        for name in ("company", "company.team", "company.teamwork", "other"):
            repos.namespaces.update_namespace(namespace(name))
    with store.unit() as repos:
        listed = [record.name for record in repos.namespaces.list_namespaces("company.team")]
        assert repos.namespaces.delete_namespace("other") is True
        assert repos.namespaces.delete_namespace("other") is False
        remaining = [record.name for record in repos.namespaces.list_namespaces()]
    assert listed == ["company.team"]
    assert remaining == ["company", "company.team", "company.teamwork"]
