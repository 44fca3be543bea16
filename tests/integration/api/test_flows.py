"""Flows through the API: revisions, search, validation of streams, applying a namespace at once,
export, and the control-plane rules on flows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.engine.ports import Store
from controlplane.store import StoreSettings
from tests.integration.api.conftest import Api, LiveServer, serve

YAML = {"Content-Type": "application/x-yaml"}


def flow(
    namespace: str,
    flow_id: str,
    message: str = "hello",
    labels: dict[str, str] | None = None,
) -> str:
    """A small valid flow; a comment keeps it honest about being saved as written."""
    label_lines = "".join(f"  {key}: {value}\n" for key, value in (labels or {}).items())
    return (
        f"# {flow_id}, kept as written\n"
        f"id: {flow_id}\n"
        f"namespace: {namespace}\n"
        f"description: Says {message}\n"
        + (f"labels:\n{label_lines}" if label_lines else "")
        + "inputs:\n"
        "  - id: name\n"
        "    type: STRING\n"
        "    defaults: world\n"
        "tasks:\n"
        "  - id: say\n"
        "    type: io.kestra.plugin.core.log.Log\n"
        f"    message: {message}\n"
        "outputs:\n"
        "  - id: said\n"
        "    type: STRING\n"
        '    value: "{{ inputs.name }}"\n'
    )


def put(api: Api, source: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    namespace, flow_id = _key(source)
    return api.put(
        f"/flows/{namespace}/{flow_id}",
        data=source.encode(),
        headers={**YAML, **(headers or {})},
        params=params,
    )


def _key(source: str) -> tuple[str, str]:
    fields = dict(
        line.split(": ", 1)
        for line in source.splitlines()
        if line.startswith(("id:", "namespace:"))
    )
    return fields["namespace"], fields["id"]


def revision_of(api: Api, namespace: str, flow_id: str) -> int:
    found: int = api.get(f"/flows/{namespace}/{flow_id}").json()["revision"]
    return found


def test_a_flow_is_created_read_updated_and_deleted_keeping_its_revisions(api: Api) -> None:
    first = flow("crud.team", "hello", "hi", {"team": "data"})
    created = put(api, first)
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    answer = created.json()
    assert answer.pop("updated")
    assert answer == {
        "namespace": "crud.team",
        "id": "hello",
        "revision": 1,
        "description": "Says hi",
        "labels": {"team": "data"},
        "managed_by": None,
        "disabled": False,
        "source": first,
        "inputs": [{"id": "name", "type": "STRING", "required": True, "description": None}],
        "outputs": [{"id": "said", "type": "STRING"}],
    }
    read = api.get("/flows/crud.team/hello")
    assert (read.status_code, read.headers["ETag"], read.json()["source"]) == (200, '"1"', first)

    unchanged = put(api, first)
    assert (unchanged.status_code, unchanged.json()["revision"]) == (200, 1)
    second = flow("crud.team", "hello", "bye")
    updated = put(api, second)
    assert (updated.status_code, updated.json()["revision"]) == (200, 2)
    assert updated.json()["labels"] == {}
    assert api.get("/flows/crud.team/hello", params={"revision": 1}).json()["source"] == first
    assert api.get("/flows/crud.team/hello/revisions/1").json()["description"] == "Says hi"

    assert api.delete("/flows/crud.team/hello").status_code == 204
    gone = api.get("/flows/crud.team/hello")
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert api.delete("/flows/crud.team/hello").status_code == 404
    revisions = api.get("/flows/crud.team/hello/revisions").json()
    assert [(r["revision"], r["deleted"]) for r in revisions] == [(1, False), (2, False), (3, True)]
    assert api.get("/flows/crud.team/hello/revisions/2").json()["source"] == second
    assert api.get("/flows/crud.team/hello/revisions/3").status_code == 404
    assert api.get("/flows/crud.team/nothing/revisions").status_code == 404


def test_post_creates_a_flow_and_refuses_one_that_exists(api: Api) -> None:
    source = flow("post.team", "once")
    created = api.post("/flows", data=source, headers={**YAML, "X-Weir-Manager": "ci"})
    assert created.status_code == 201
    assert (created.json()["revision"], created.json()["managed_by"]) == (1, "ci")
    again = api.post("/flows", data=source, headers=YAML)
    assert again.status_code == 409
    assert again.json()["code"] == "flow_exists"
    assert revision_of(api, "post.team", "once") == 1


def test_search_by_namespace_prefix_text_and_labels_in_pages(api: Api) -> None:
    put(api, flow("find.a", "one", "alpha", {"env": "prod", "team": "x"}))
    put(api, flow("find.a", "two", "beta", {"env": "prod", "team": "y"}))
    put(api, flow("find.a.sub", "three", "alpha", {"env": "dev"}))
    put(api, flow("find.ab", "four", "alpha", {"env": "prod"}))

    def ids(**params: Any) -> list[str]:
        answer = api.get("/flows/search", params=params)
        assert answer.status_code == 200
        return [f"{r['namespace']}/{r['id']}" for r in answer.json()["results"]]

    assert ids(namespace="find.a") == ["find.a/one", "find.a/two", "find.a.sub/three"]
    assert ids(namespace="find", q="ALPHA") == ["find.a/one", "find.a.sub/three", "find.ab/four"]
    assert ids(namespace="find", labels=["env:prod", "team:x"]) == ["find.a/one"]
    assert ids(namespace="find", labels="env:prod") == ["find.a/one", "find.a/two", "find.ab/four"]
    paging: dict[str, Any] = {"namespace": "find", "page": 2, "size": 3}
    paged = api.get("/flows/search", params=paging).json()
    assert paged["total"] == 4
    assert [r["id"] for r in paged["results"]] == ["four"]
    summary = paged["results"][0]
    assert "source" not in summary
    assert summary["description"] == "Says alpha"
    bad = api.get("/flows/search", params={"labels": "no-colon"})
    assert bad.status_code == 422


def test_validate_answers_each_document_with_lines_of_the_whole_stream(api: Api) -> None:
    broken = flow("check.team", "second").replace(
        "io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.log.Logg"
    )
    stream = flow("check.team", "first") + "---\n" + broken + "---\n" + flow("check.team", "third")
    answer = api.post("/flows/validate", data=stream, headers=YAML)
    assert answer.status_code == 200
    verdicts = answer.json()
    assert [(v["index"], v["id"], v["ok"]) for v in verdicts] == [
        (0, "first", True),
        (1, "second", False),
        (2, "third", True),
    ]
    (problem,) = verdicts[1]["problems"]
    wrong_line = stream.splitlines().index("    type: io.kestra.plugin.core.log.Logg") + 1
    assert wrong_line > len(flow("check.team", "first").splitlines())
    assert (problem["line"], problem["path"], problem["severity"]) == (
        wrong_line,
        "tasks[0].type",
        "error",
    )
    assert set(problem) == {"severity", "message", "line", "column", "path"}
    assert "Logg" in problem["message"]


def test_validate_reports_unreadable_documents_and_duplicates_without_refusing(api: Api) -> None:
    stream = "id: [unclosed\n---\n" + flow("dup.team", "same") + "---\n" + flow("dup.team", "same")
    verdicts = api.post("/flows/validate", data=stream, headers=YAML).json()
    assert [v["ok"] for v in verdicts] == [False, True, False]
    assert verdicts[0]["problems"][0]["line"] in (1, 2)
    duplicate = verdicts[2]["problems"][0]
    assert "also declared by the document on line 3" in duplicate["message"]
    assert duplicate["line"] == stream.splitlines().index("id: same", 4) + 1
    assert api.post("/flows/validate", data="", headers=YAML).json() == []


def test_applying_a_namespace_creates_updates_keeps_and_deletes(api: Api) -> None:
    gitops = {**YAML, "X-Weir-Manager": "gitops:repo"}
    ns = "apply.team"
    by_hand = put(api, flow(ns, "by-hand"))
    assert by_hand.status_code == 201
    put(api, flow(f"{ns}.child", "nested"), headers={"X-Weir-Manager": "gitops:repo"})
    first = [flow(ns, "a"), flow(ns, "b"), flow(ns, "d")]
    applied = api.post(f"/namespaces/{ns}/flows", data="---\n".join(first), headers=gitops)
    assert applied.status_code == 200
    assert applied.json() == {
        "created": ["a", "b", "d"],
        "updated": [],
        "unchanged": [],
        "deleted": [],
    }

    second = [flow(ns, "a"), flow(ns, "b", "changed"), flow(ns, "c")]
    applied = api.post(
        f"/namespaces/{ns}/flows",
        data="\n---\n".join(second),
        headers=gitops,
        params={"delete": "true"},
    )
    assert applied.json() == {
        "created": ["c"],
        "updated": ["b"],
        "unchanged": ["a"],
        "deleted": ["d"],
    }
    assert api.get(f"/flows/{ns}/a").json()["source"] == second[0]
    assert api.get(f"/flows/{ns}/d").status_code == 404
    assert api.get(f"/flows/{ns}/by-hand").status_code == 200
    assert api.get(f"/flows/{ns}.child/nested").status_code == 200
    assert revision_of(api, ns, "a") == 1
    assert api.get(f"/flows/{ns}/b").json()["managed_by"] == "gitops:repo"


def test_applying_a_namespace_is_all_or_nothing(api: Api) -> None:
    ns = "atomic.team"
    put(api, flow(ns, "kept"))
    invalid = flow(ns, "bad").replace("tasks:", "taskz:")
    stream = flow(ns, "kept", "changed") + "---\n" + invalid + "---\n" + flow("other.team", "x")
    refused = api.post(f"/namespaces/{ns}/flows", data=stream, headers=YAML)
    assert refused.status_code == 422
    assert refused.json()["code"] == "flow_invalid"
    problems = refused.json()["details"]["problems"]
    lines = stream.splitlines()
    assert {p["line"] for p in problems} >= {
        lines.index("taskz:") + 1,
        lines.index("namespace: other.team") + 1,
    }
    assert any("this request applies 'atomic.team'" in p["message"] for p in problems)
    assert revision_of(api, ns, "kept") == 1
    assert api.get(f"/flows/{ns}/bad").status_code == 404

    put(api, flow(ns, "owned"), headers={"X-Weir-Manager": "terraform"})
    stream = flow(ns, "fresh") + "---\n" + flow(ns, "owned", "mine")
    elsewhere = api.post(f"/namespaces/{ns}/flows", data=stream, headers=YAML)
    assert elsewhere.status_code == 409
    assert elsewhere.json()["details"]["managed_by"] == "terraform"
    assert api.get(f"/flows/{ns}/fresh").status_code == 404
    forced = api.post(f"/namespaces/{ns}/flows", data=stream, headers=YAML, params={"force": True})
    assert forced.json()["created"] == ["fresh"]
    assert api.get(f"/flows/{ns}/owned").json()["managed_by"] is None


def test_export_is_a_stream_that_applies_back_unchanged(api: Api) -> None:
    ns = "export.team"
    sources = [flow(ns, "a"), flow(ns, "b", "bee")]
    for source in sources:
        put(api, source)
    put(api, flow("export.other", "c"))
    exported = api.get("/flows/export", params={"namespace": ns})
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("application/x-yaml")
    assert exported.text == "---\n".join(sources)
    again = api.post(f"/namespaces/{ns}/flows", data=exported.text, headers=YAML).json()
    assert again == {"created": [], "updated": [], "unchanged": ["a", "b"], "deleted": []}


def test_a_stale_if_match_gets_409_and_changes_nothing(api: Api) -> None:
    put(api, flow("match.team", "f", "one"))
    stale = put(api, flow("match.team", "f", "two"), headers={"If-Match": '"5"'})
    assert stale.status_code == 409
    assert stale.json()["code"] == "revision_mismatch"
    assert api.get("/flows/match.team/f").json()["description"] == "Says one"
    assert api.delete("/flows/match.team/f", headers={"If-Match": "5"}).status_code == 409
    fresh = put(api, flow("match.team", "f", "two"), headers={"If-Match": '"1"'})
    assert (fresh.status_code, fresh.json()["revision"]) == (200, 2)
    assert put(api, flow("match.team", "f"), headers={"If-Match": "0"}).status_code == 409
    assert put(api, flow("match.team", "new"), headers={"If-Match": "0"}).status_code == 201


def test_a_flow_managed_by_another_manager_is_read_only_unless_forced(api: Api) -> None:
    tf = {"X-Weir-Manager": "terraform"}
    put(api, flow("owned.team", "f", "by tf"), headers=tf)
    refused = put(api, flow("owned.team", "f", "by hand"), headers={"X-Weir-Manager": "me"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "managed_elsewhere"
    assert refused.json()["details"]["managed_by"] == "terraform"
    assert api.delete("/flows/owned.team/f").status_code == 409
    assert api.get("/flows/owned.team/f").json()["description"] == "Says by tf"
    assert put(api, flow("owned.team", "f", "by tf"), headers=tf).json()["revision"] == 1
    forced = put(api, flow("owned.team", "f", "by hand"), force="true")
    assert (forced.status_code, forced.json()["managed_by"]) == (200, None)
    assert forced.json()["revision"] == 2


def test_the_source_must_name_the_flow_of_the_path(api: Api) -> None:
    source = flow("path.team", "real")
    answer = api.put("/flows/path.team/other", data=source, headers=YAML)
    assert answer.status_code == 422
    assert "'real'" in answer.json()["message"] and "'other'" in answer.json()["message"]
    (problem,) = answer.json()["details"]["problems"]
    assert (problem["path"], problem["line"]) == ("id", 2)
    moved = api.put("/flows/elsewhere/real", data=source, headers=YAML)
    assert moved.status_code == 422
    assert "'path.team'" in moved.json()["message"]
    assert "'elsewhere'" in moved.json()["message"]
    assert api.get("/flows/path.team/real").status_code == 404


def test_bodies_that_are_not_yaml_flows_get_4xx_with_their_problems(api: Api) -> None:
    url = "/flows/bodies.team/f"
    as_json = api.put(url, json={"id": "f"})
    assert (as_json.status_code, as_json.json()["code"]) == (400, "bad_request")
    untyped = api.put(url, data=flow("bodies.team", "f").encode())
    assert untyped.status_code == 400
    assert "Content-Type: application/x-yaml" in untyped.json()["message"]
    latin1 = api.put(url, data="id: f\ndescription: caf\xe9\n".encode("latin-1"), headers=YAML)
    assert latin1.status_code == 400
    malformed = api.put(url, data="id: f\nnamespace: [bodies.team\n", headers=YAML)
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed")
    assert malformed.json()["details"]["problems"][0]["line"] >= 2
    invalid = api.put(url, data="id: f\nnamespace: bodies.team\ntasks: []\n", headers=YAML)
    assert (invalid.status_code, invalid.json()["code"]) == (422, "flow_invalid")
    (problem,) = invalid.json()["details"]["problems"]
    assert (problem["path"], problem["line"], problem["column"]) == ("tasks", 3, 1)
    limit = ApiSettings().max_flow_bytes  # the live server's
    huge = flow("bodies.team", "f") + "#" * limit
    too_large = api.put(url, data=huge, headers=YAML)
    assert (too_large.status_code, too_large.json()["code"]) == (413, "payload_too_large")
    as_text = api.put(url, data=flow("bodies.team", "f"), headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 201


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("guarded-flows")
    server = serve(ApiSettings(store=StoreSettings(home=Path(home)), require_tokens=True))
    yield server
    server.stop()


def as_token(server: LiveServer, token: str) -> Api:
    session = Api(server.url)
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_tokens_reach_only_their_namespaces(guarded: LiveServer) -> None:
    app: Any = guarded.server.config.app
    store: Store = app.state.store
    _, admin = issue_token(store, "admin", "admin")
    _, team = issue_token(store, "team-a", "write", ["team.a"])
    _, reader = issue_token(store, "reader", "read", ["team.a"])
    with as_token(guarded, admin) as root, as_token(guarded, team) as writer:
        for source in (flow("team.a", "mine"), flow("team.b", "theirs")):
            assert put(root, source).status_code == 201
        assert writer.get("/flows/team.a/mine").status_code == 200
        for path in ("/flows/team.b/theirs", "/flows/team.b/absent"):
            refused = writer.get(path)
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert put(writer, flow("team.b", "theirs", "no")).status_code == 403
        created = writer.post("/flows", data=flow("team.b", "new"), headers=YAML)
        assert created.status_code == 403
        found = writer.get("/flows/search", params={"namespace": "team"}).json()
        assert (found["total"], [r["id"] for r in found["results"]]) == (1, ["mine"])
        assert writer.get("/flows/export").text == flow("team.a", "mine")
    with as_token(guarded, reader) as read_only:
        assert put(read_only, flow("team.a", "mine", "no")).status_code == 403
        assert read_only.delete("/flows/team.a/mine").status_code == 403
        assert read_only.get("/flows/team.a/mine").json()["revision"] == 1


def test_a_namespace_is_read_whole_with_sources_but_not_its_children(api: Api) -> None:
    for namespace, flow_id in (("whole.ns", "b"), ("whole.ns", "a"), ("whole.ns.child", "c")):
        assert put(api, flow(namespace, flow_id)).status_code == 201
    answer = api.get("/namespaces/whole.ns/flows")
    assert answer.status_code == 200
    found = answer.json()
    assert [f["id"] for f in found] == ["a", "b"]
    assert found[0]["source"] == flow("whole.ns", "a")
    assert found[0]["outputs"] == [{"id": "said", "type": "STRING"}]
    assert api.get("/namespaces/nothing.here/flows").json() == []
