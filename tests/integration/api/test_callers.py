"""GET /flows/callers: the index of who calls whom, kept with each revision."""

from __future__ import annotations

from tests.integration.api.conftest import Api

SUB = """id: load
namespace: shared.lib
inputs:
  - id: table
    type: STRING
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.table }}"
"""


def caller(namespace: str, flow_id: str, target: str = "load", kind: str = "Subflow") -> str:
    return f"""id: {flow_id}
namespace: {namespace}
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: call
        type: io.kestra.plugin.core.flow.{kind}
        namespace: shared.lib
        flowId: {target}
        inputs:
          table: orders
"""


TRIGGERED = """id: after
namespace: team.c
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: done
triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: shared.lib
        flowId: load
"""


def put(api: Api, source: str) -> None:
    first = source.split("\n", 2)
    flow_id, namespace = first[0].split(": ")[1], first[1].split(": ")[1]
    answer = api.put(
        f"/flows/{namespace}/{flow_id}",
        data=source,
        headers={"Content-Type": "application/x-yaml"},
    )
    assert answer.status_code in (200, 201), answer.text


def callers(api: Api, **params: str) -> list[dict[str, object]]:
    answer = api.get("/flows/callers", params=params)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, object]] = answer.json()
    return result


def test_callers_are_indexed_by_revision_and_follow_changes(api: Api) -> None:
    put(api, SUB)
    put(api, caller("team.a", "nightly"))
    put(api, caller("team.b", "hourly"))
    put(api, TRIGGERED)
    put(api, caller("team.b", "other", target="unrelated"))

    found = callers(api, namespace="shared.lib", id="load")
    assert [(c["namespace"], c["id"]) for c in found] == [
        ("team.a", "nightly"),
        ("team.b", "hourly"),
        ("team.c", "after"),
    ]
    nightly = found[0]
    assert nightly["references"] == [
        {
            "kind": "subflow",
            "path": "tasks[0].tasks[0]",
            "namespace": "shared.lib",
            "flow_id": "load",
        }
    ]
    assert "flowId: load" in str(nightly["source"])
    assert callers(api, namespace="shared.lib", id="load")[2]["references"][0]["kind"] == "trigger"  # type: ignore[index]

    # A new revision that no longer calls the flow drops out; deleting a caller too.
    put(api, caller("team.a", "nightly", target="elsewhere"))
    assert api.delete("/flows/team.b/hourly").status_code == 204
    assert [c["id"] for c in callers(api, namespace="shared.lib", id="load")] == ["after"]
    everything = callers(api, namespace="shared.lib")
    assert sorted(str(c["id"]) for c in everything) == ["after", "nightly", "other"]


def test_an_unknown_flow_has_no_callers(api: Api) -> None:
    assert callers(api, namespace="nowhere", id="none") == []
    assert api.get("/flows/callers").status_code == 422
