"""Webhook triggers through a live server, as Kestra answers them: inputs rendered from the
request, conditions that answer 204 without an execution, GET / POST / PUT, 404 for any wrong
key, and ``wait`` / ``returnOutputs`` answering once the flow ended."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from controlplane.engine.ports import Store
from tests.integration.api.conftest import Api, LiveServer
from tests.waiting import ended_json

Json = dict[str, Any]
WEBHOOK = "io.kestra.plugin.core.trigger.Webhook"


@pytest.fixture(scope="module")
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


def save_flow(store: Store, source: str) -> None:
    lines = dict(line.split(": ", 1) for line in source.splitlines()[:2])
    with store.unit() as repos:
        repos.flows.create_flow_revision(lines["namespace"], lines["id"], source, None, {})


def ended(api: Api, execution_id: str) -> Json:
    fetched: Json = ended_json(lambda: api.get(f"/executions/{execution_id}").json())
    return fetched


def executions_of(api: Api, namespace: str, flow_id: str) -> int:
    found = api.get("/executions/search", params={"namespace": namespace, "flow_id": flow_id})
    total: int = found.json()["total"]
    return total


def test_inputs_and_labels_come_from_the_body_headers_and_parameters(
    api: Api, store: Store
) -> None:
    save_flow(store, f"""id: order
namespace: hooks.inputs
inputs:
  - id: customer
    type: STRING
  - id: count
    type: INT
  - id: agent
    type: STRING
  - id: tags
    type: JSON
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.customer }}}} x{{{{ inputs.count + 1 }}}} by {{{{ inputs.agent }}}}"
triggers:
  - id: hook
    type: {WEBHOOK}
    key: order-key
    inputs:
      customer: "{{{{ trigger.body.customer.name }}}}"
      count: "{{{{ trigger.body.count }}}}"
      agent: "{{{{ trigger.headers['x-agent'][0] }}}}"
      tags: "{{{{ trigger.parameters.tag }}}}"
    labels:
      event: "{{{{ trigger.headers['x-event'] | first }}}}"
""")  # fmt: skip
    answer = api.post(
        "/executions/webhook/hooks.inputs/order/order-key",
        params=[("tag", "new"), ("tag", "vip")],
        json={"customer": {"name": "Ada"}, "count": 2},
        headers={"X-Agent": "shop/1.0", "X-Event": "created", "Authorization": "Bearer t0k"},
    )
    assert answer.status_code == 201, answer.text
    started = answer.json()
    assert started["inputs"] == {"customer": "Ada", "count": 2, "agent": "shop/1.0",
                                 "tags": ["new", "vip"]}  # fmt: skip
    assert started["labels"]["event"] == "created"
    trigger = started["trigger"]
    assert trigger["parameters"] == {"tag": ["new", "vip"]}
    assert trigger["headers"]["x-agent"] == ["shop/1.0"]
    assert "authorization" not in trigger["headers"]
    assert "t0k" not in answer.text
    final = ended(api, started["id"])
    assert final["taskRunList"][0]["outputs"] == {"value": "Ada x3 by shop/1.0"}


def test_conditions_that_do_not_hold_answer_204_and_start_nothing(api: Api, store: Store) -> None:
    save_flow(store, f"""id: on_open
namespace: hooks.conditions
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.body.action }}}}"
triggers:
  - id: hook
    type: {WEBHOOK}
    key: cond-key
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{{{ trigger.body.action == 'opened' }}}}"
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.Expression
            expression: "{{{{ trigger.headers['x-github-event'][0] == 'ping' }}}}"
""")  # fmt: skip
    path = "/executions/webhook/hooks.conditions/on_open/cond-key"
    closed = api.post(path, json={"action": "closed"}, headers={"X-GitHub-Event": "issues"})
    assert (closed.status_code, closed.content) == (204, b"")
    ping = api.post(path, json={"action": "opened"}, headers={"X-GitHub-Event": "ping"})
    assert ping.status_code == 204
    # A condition that cannot be rendered (no such header) does not hold either.
    assert api.post(path, json={"action": "opened"}).status_code == 204
    assert executions_of(api, "hooks.conditions", "on_open") == 0
    opened = api.post(path, json={"action": "opened"}, headers={"X-GitHub-Event": "issues"})
    assert opened.status_code == 201, opened.text
    assert executions_of(api, "hooks.conditions", "on_open") == 1


def test_inputs_that_do_not_render_or_fit_answer_422(api: Api, store: Store) -> None:
    save_flow(store, f"""id: strict
namespace: hooks.invalid
inputs:
  - id: count
    type: INT
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.count }}}}"
triggers:
  - id: hook
    type: {WEBHOOK}
    key: strict-key
    inputs:
      count: "{{{{ trigger.body.count }}}}"
""")  # fmt: skip
    path = "/executions/webhook/hooks.invalid/strict/strict-key"
    missing = api.post(path, json={"other": 1})
    assert missing.status_code == 422
    assert missing.json()["message"].startswith(
        "the inputs or labels of webhook trigger 'hook' of flow hooks.invalid/strict cannot be "
        "rendered from this request: "
    )
    wrong = api.post(path, json={"count": "many"})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_inputs")
    assert executions_of(api, "hooks.invalid", "strict") == 0
    assert api.post(path, json={"count": 4}).status_code == 201


def test_get_and_put_start_too_and_a_wrong_key_is_404(api: Api, store: Store) -> None:
    save_flow(store, f"""id: methods
namespace: hooks.methods
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.parameters.who[0] ?? 'nobody' }}}}"
triggers:
  - id: hook
    type: {WEBHOOK}
    key: right-key
  - id: old
    type: {WEBHOOK}
    key: old-key
    disabled: true
""")  # fmt: skip
    base = "/executions/webhook/hooks.methods/methods"
    by_get = api.get(f"{base}/right-key", params={"who": "get"})
    by_put = api.put(f"{base}/right-key", data=b"raw text", headers={"Content-Type": "text/plain"})
    assert (by_get.status_code, by_put.status_code) == (201, 201), (by_get.text, by_put.text)
    assert by_put.json()["trigger"]["body"] == "raw text"
    assert ended(api, by_get.json()["id"])["taskRunList"][0]["outputs"] == {"value": "get"}
    wrong = [
        api.post(f"{base}/wrong-key", json={}),
        api.get(f"{base}/old-key"),
        api.put("/executions/webhook/hooks.methods/absent/right-key"),
    ]
    assert [r.status_code for r in wrong] == [404, 404, 404]
    assert {r.json()["code"] for r in wrong} == {"not_found"}
    assert executions_of(api, "hooks.methods", "methods") == 2


def test_wait_and_return_outputs_answer_once_the_flow_ended(api: Api, store: Store) -> None:
    flow = """id: greet{suffix}
namespace: hooks.wait
tasks:
  - id: make
    type: io.kestra.plugin.core.debug.Return
    format: "Hello {{{{ trigger.parameters.name[0] ?? 'world' }}}}!"
outputs:
  - id: greeting
    type: STRING
    value: "{{{{ outputs.make.value }}}}"
triggers:
  - id: hook
    type: {webhook}
    key: wait-key
    wait: true
{extra}"""
    save_flow(
        store, flow.format(suffix="_json", webhook=WEBHOOK, extra="    returnOutputs: true\n")
    )
    save_flow(store, flow.format(suffix="_text", webhook=WEBHOOK,
                                 extra="    returnOutputs: true\n"
                                       "    responseContentType: text/plain\n"))  # fmt: skip
    save_flow(store, flow.format(suffix="_execution", webhook=WEBHOOK, extra=""))

    as_json = api.get("/executions/webhook/hooks.wait/greet_json/wait-key?name=Alice")
    assert (as_json.status_code, as_json.json()) == (200, {"greeting": "Hello Alice!"})
    assert as_json.headers["content-type"].startswith("application/json")
    as_text = api.post("/executions/webhook/hooks.wait/greet_text/wait-key?name=Bob")
    assert (as_text.status_code, as_text.text) == (200, "Hello Bob!")
    assert as_text.headers["content-type"].startswith("text/plain")
    execution = api.post("/executions/webhook/hooks.wait/greet_execution/wait-key")
    assert execution.status_code == 201
    assert execution.json()["state"]["current"] == "SUCCESS"
    assert execution.json()["outputs"] == {"greeting": "Hello world!"}


def test_a_key_may_come_from_the_servers_environment(
    api: Api, store: Store, live_server: LiveServer
) -> None:
    engine = live_server.server.config.app.state.engine
    declared = engine.settings
    engine.settings = replace(declared, envs={**declared.envs, "hook_key": "from-a-secret"})
    try:
        save_flow(store, f"""id: keyed
namespace: hooks.envs
tasks:
  - id: hi
    type: io.kestra.plugin.core.debug.Return
    format: hi
triggers:
  - id: hook
    type: {WEBHOOK}
    key: "{{{{ envs.hook_key }}}}"
""")  # fmt: skip
        assert api.post("/executions/webhook/hooks.envs/keyed/from-a-secret").status_code == 201
        assert api.post("/executions/webhook/hooks.envs/keyed/hook_key").status_code == 404
    finally:
        engine.settings = declared


def test_a_webhook_switched_off_by_trigger_toggle_is_404_until_switched_on(
    api: Api, store: Store
) -> None:
    save_flow(store, f"""id: hooked
namespace: hooks.toggle
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hi
triggers:
  - id: hook
    type: {WEBHOOK}
    key: the-key
""")  # fmt: skip
    for enabled in ("false", "true"):
        save_flow(store, f"""id: switch_{enabled}
namespace: hooks.toggle
tasks:
  - id: toggle
    type: io.kestra.plugin.core.trigger.Toggle
    flowId: hooked
    trigger: hook
    enabled: {enabled}
""")  # fmt: skip
    url = "/executions/webhook/hooks.toggle/hooked/the-key"

    def switch(enabled: str) -> None:
        started = api.post(f"/executions/hooks.toggle/switch_{enabled}")
        assert started.status_code == 201, started.text
        assert ended(api, started.json()["id"])["state"]["current"] == "SUCCESS"

    switch("false")
    off = api.post(url, json={})
    assert off.status_code == 404, off.text
    switch("true")
    assert api.post(url, json={}).status_code == 201
