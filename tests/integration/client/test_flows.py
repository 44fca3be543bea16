"""Flows through the client on a live server: saving from YAML, revisions, search, validation,
applying a namespace at once, export."""

from __future__ import annotations

import pytest

from controlplane.client import Conflict, Invalid, NotFound, WeirClient
from tests.integration.api.conftest import LiveServer


def flow(namespace: str, flow_id: str, message: str = "hi", labels: str = "") -> str:
    return (
        f"id: {flow_id}\n"
        f"namespace: {namespace}\n"
        "# kept as written\n"
        f"{labels}"
        "inputs:\n"
        "  - id: name\n"
        "    type: STRING\n"
        "    defaults: world\n"
        "tasks:\n"
        "  - id: say\n"
        "    type: io.kestra.plugin.core.log.Log\n"
        f"    message: {message}\n"
    )


BROKEN = "id: broken\nnamespace: client.flows\ntasks:\n  - id: t\n    type: io.kestra.nope.Nope\n"


def test_a_flow_is_created_updated_read_by_revision_and_deleted(weir: WeirClient) -> None:
    source = flow("client.flows", "hello", labels="labels:\n  team: data\n")
    created = weir.flows.create(source)
    assert (created.namespace, created.id, created.revision) == ("client.flows", "hello", 1)
    assert (created.source, created.labels, created.disabled) == (source, {"team": "data"}, False)
    assert [(i.id, i.type, i.required) for i in created.inputs] == [("name", "STRING", True)]
    with pytest.raises(Conflict) as exists:
        weir.flows.create(source)
    assert exists.value.code == "flow_exists"
    assert weir.flows.put(source).revision == 1
    changed = weir.flows.put(source.replace("message: hi", "message: hello"), if_match=1)
    assert changed.revision == 2
    assert weir.flows.get("client.flows", "hello").revision == 2
    assert weir.flows.get("client.flows", "hello", revision=1).source == source
    weir.flows.delete("client.flows", "hello", if_match=2)
    with pytest.raises(NotFound) as gone:
        weir.flows.get("client.flows", "hello")
    assert gone.value.message == "flow client.flows/hello does not exist"
    revisions = weir.flows.revisions("client.flows", "hello")
    assert [r.revision for r in revisions] == [1, 2, 3]
    assert revisions[-1].deleted and revisions[0].updated is not None


def test_an_invalid_flow_is_refused_with_every_problem_at_its_line(weir: WeirClient) -> None:
    with pytest.raises(Invalid) as refused:
        weir.flows.put(BROKEN)
    assert refused.value.status == 422
    (problem,) = refused.value.problems
    assert (problem["line"], problem["path"]) == (5, "tasks[0].type")
    with pytest.raises(Invalid) as mismatch:
        weir.flows.put(flow("client.flows", "a"), flow_id="b")
    assert "id is 'a', but the path says 'b'" in mismatch.value.message
    with pytest.raises(ValueError, match="no namespace or id"):
        weir.flows.put("tasks: []\n")


def test_validate_answers_one_verdict_per_document(weir: WeirClient) -> None:
    good = flow("client.flows", "good")
    verdicts = weir.flows.validate(good + "---\n" + BROKEN)
    assert [(v.index, v.id, v.ok) for v in verdicts] == [(0, "good", True), (1, "broken", False)]
    (problem,) = verdicts[1].problems
    assert (problem.severity, problem.line, problem.path) == ("error", 17, "tasks[0].type")
    assert str(problem) == (
        "17:5: error at tasks[0].type: unknown task type 'io.kestra.nope.Nope': "
        "Weir does not implement it (a plugin outside Kestra's own families)"
    )
    with pytest.raises(NotFound):
        weir.flows.get("client.flows", "good")


def test_search_filters_by_namespace_text_and_labels_and_pages(weir: WeirClient) -> None:
    for number in range(5):
        team = "a" if number % 2 else "b"
        weir.flows.put(flow("client.search", f"f{number}", labels=f"labels:\n  team: {team}\n"))
    weir.flows.put(flow("client.searchother", "x", message="needle"))
    found = weir.flows.search(namespace="client.search", labels={"team": "a"})
    assert ([f.id for f in found.results], found.total) == (["f1", "f3"], 2)
    assert [f.id for f in weir.flows.search(q="needle").results] == ["x"]
    page = weir.flows.search(namespace="client.search", page=2, size=2)
    assert (len(page.results), page.total) == (2, 5)
    every = list(weir.flows.iter_search(namespace="client.search", size=2))
    assert sorted(f.id for f in every) == ["f0", "f1", "f2", "f3", "f4"]


def test_a_namespace_is_applied_all_or_nothing_and_exported(live: LiveServer) -> None:
    ns = "client.apply"
    with WeirClient(live.url, manager="gitops:repo") as gitops:
        first = gitops.flows.apply_namespace(ns, [flow(ns, "a"), flow(ns, "b")])
        assert (first.created, first.changed) == (["a", "b"], True)
        second = gitops.flows.apply_namespace(ns, [flow(ns, "a"), flow(ns, "b", "changed")])
        assert (second.unchanged, second.updated) == (["a"], ["b"])
        with pytest.raises(Invalid) as refused:
            gitops.flows.apply_namespace(ns, [flow(ns, "c"), flow("client.other", "d")])
        assert "namespace is 'client.other'" in refused.value.problems[0]["message"]
        assert gitops.flows.apply_namespace(ns, flow(ns, "a"), delete=True).deleted == ["b"]
        assert gitops.flows.get(ns, "a").managed_by == "gitops:repo"
    with WeirClient(live.url, manager="terraform") as terraform:
        with pytest.raises(Conflict):
            terraform.flows.apply_namespace(ns, [flow(ns, "a", "mine")])
        assert terraform.flows.apply_namespace(ns, [flow(ns, "a", "mine")], force=True).updated == [
            "a"
        ]
        assert terraform.flows.export(ns) == flow(ns, "a", "mine")
