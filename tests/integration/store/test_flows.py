"""Flow revisions as a user of the API sees them."""

from __future__ import annotations

from controlplane.store import SqlStore

SOURCE = """# the hello flow
id: hello
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: Hello   # kept as written
"""


def test_every_changed_source_is_a_new_revision(store: SqlStore) -> None:
    with store.unit() as repos:
        first = repos.flows.create_flow_revision("company.team", "hello", SOURCE, "terraform")
        second = repos.flows.create_flow_revision(
            "company.team", "hello", SOURCE.replace("Hello", "Hi"), "terraform"
        )
    assert (first.revision, second.revision) == (1, 2)
    with store.unit() as repos:
        latest = repos.flows.read_flow("company.team", "hello")
        old = repos.flows.read_flow("company.team", "hello", revision=1)
        revisions = repos.flows.list_flow_revisions("company.team", "hello")
    assert latest is not None and latest.revision == 2 and "Hi" in latest.source
    assert old is not None and old.source == SOURCE
    assert [record.revision for record in revisions] == [1, 2]
    assert latest.managed_by == "terraform"


def test_source_is_kept_exactly_as_written(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "hello", SOURCE, None)
    with store.unit() as repos:
        record = repos.flows.read_flow("company.team", "hello")
    assert record is not None and record.source == SOURCE


def test_unchanged_source_makes_no_revision(store: SqlStore) -> None:
    with store.unit() as repos:
        first = repos.flows.create_flow_revision("company.team", "hello", SOURCE, None)
    with store.unit() as repos:
        again = repos.flows.create_flow_revision("company.team", "hello", SOURCE, None)
        revisions = repos.flows.list_flow_revisions("company.team", "hello")
    assert again == first
    assert len(revisions) == 1


def test_list_flows_gives_the_latest_revision_under_a_namespace_prefix(store: SqlStore) -> None:
    with store.unit() as repos:
        for namespace, flow_id in [
            ("company.team", "b"),
            ("company.team", "a"),
            ("company.team.sub", "c"),
            ("company.teamwork", "d"),
            ("other", "e"),
        ]:
            repos.flows.create_flow_revision(namespace, flow_id, f"id: {flow_id}\n", None)
        repos.flows.create_flow_revision("company.team", "a", "id: a\n# v2\n", None)
    with store.unit() as repos:
        listed = repos.flows.list_flows("company.team")
        everything = repos.flows.list_flows()
    assert [(r.namespace, r.flow_id, r.revision) for r in listed] == [
        ("company.team", "a", 2),
        ("company.team", "b", 1),
        ("company.team.sub", "c", 1),
    ]
    assert len(everything) == 5
    with store.unit() as repos:
        assert repos.flows.list_flows("Company.Team") == []  # names are case-sensitive
        assert repos.flows.list_flows("company.te") == []  # whole segments only


def test_deleted_flow_is_gone_but_its_history_stays(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "hello", SOURCE, None)
        assert repos.flows.delete_flow("company.team", "hello") is True
    with store.unit() as repos:
        assert repos.flows.read_flow("company.team", "hello") is None
        assert repos.flows.list_flows() == []
        assert repos.flows.delete_flow("company.team", "hello") is False
        assert repos.flows.read_flow("company.team", "hello", revision=1) is not None
        history = repos.flows.list_flow_revisions("company.team", "hello")
    assert [(r.revision, r.deleted) for r in history] == [(1, False), (2, True)]


def test_saving_a_deleted_flow_again_restores_it_as_a_new_revision(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "hello", SOURCE, None)
        repos.flows.delete_flow("company.team", "hello")
        restored = repos.flows.create_flow_revision("company.team", "hello", SOURCE, None)
    assert restored.revision == 3 and not restored.deleted
    with store.unit() as repos:
        assert [r.flow_id for r in repos.flows.list_flows()] == ["hello"]


def test_missing_flow_reads_as_none(store: SqlStore) -> None:
    with store.unit() as repos:
        assert repos.flows.read_flow("company.team", "nope") is None
        assert repos.flows.read_flow("company.team", "nope", revision=3) is None
        assert repos.flows.delete_flow("company.team", "nope") is False
