"""Executions through the API: start (JSON, form, webhook), search, kill, resume, restart, logs
(read and followed live) and files, and who may do what to them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.api import ApiSettings, logstream
from controlplane.api.auth import issue_token
from controlplane.engine.ports import Store
from controlplane.store import StoreSettings
from tests.integration.api.conftest import Api, LiveServer, serve
from tests.waiting import ended_json

Json = dict[str, Any]
TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"}

RETURN = "io.kestra.plugin.core.debug.Return"
LOG = "io.kestra.plugin.core.log.Log"


@pytest.fixture(scope="module")
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


def save_flow(store: Store, source: str) -> None:
    lines = dict(line.split(": ", 1) for line in source.splitlines()[:2])
    with store.unit() as repos:
        repos.flows.create_flow_revision(lines["namespace"], lines["id"], source, None, {})


def over(execution: Json) -> bool:
    return execution["state"]["current"] in TERMINAL and all(
        run["state"]["current"] in TERMINAL for run in execution["taskRunList"]
    )


def in_state(*states: str) -> Callable[[Json], bool]:
    return lambda execution: execution["state"]["current"] in states


def wait_for(api: Api, execution_id: str, done: Callable[[Json], bool] = over) -> Json:
    """The execution as the API answers it once ``done`` holds, waiting while it advances."""
    fetched: Json = ended_json(
        lambda: api.get(f"/executions/{execution_id}").json(), done, f"execution {execution_id}"
    )
    return fetched


def start(api: Api, namespace: str, flow_id: str, **body: Any) -> Json:
    answer = api.post(f"/executions/{namespace}/{flow_id}", json=body)
    assert answer.status_code == 201, answer.text
    started: Json = answer.json()
    return started


def quick_flow(store: Store, namespace: str, flow_id: str, task_type: str = RETURN) -> None:
    task = "format: done" if task_type == RETURN else "message: no"
    save_flow(
        store,
        f"id: {flow_id}\nnamespace: {namespace}\n"
        f"tasks:\n  - id: only\n    type: {task_type}\n    {task}\n",
    )


def test_a_flow_runs_with_json_inputs_and_labels(api: Api, store: Store) -> None:
    save_flow(
        store,
        """id: greet
namespace: ex.inputs
inputs:
  - id: name
    type: STRING
  - id: times
    type: INT
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.name }} x{{ inputs.times * 2 }}"
""",
    )
    started = start(
        api, "ex.inputs", "greet", inputs={"name": "Ada", "times": "3"}, labels={"team": "data"}
    )
    assert started["inputs"] == {"name": "Ada", "times": 3}
    assert started["labels"]["team"] == "data"
    assert (started["namespace"], started["flowId"], started["flowRevision"]) == (
        "ex.inputs",
        "greet",
        1,
    )
    final = wait_for(api, started["id"])
    assert final["state"]["current"] == "SUCCESS"
    assert [h["state"] for h in final["state"]["histories"]] == ["CREATED", "RUNNING", "SUCCESS"]
    assert final["taskRunList"][0]["outputs"] == {"value": "Ada x6"}
    assert final["taskRunList"][0]["state"]["current"] == "SUCCESS"
    assert final["parentId"] is None


def test_a_start_with_bad_inputs_or_no_flow_is_refused(api: Api, store: Store) -> None:
    save_flow(
        store,
        "id: typed\nnamespace: ex.refused\n"
        "inputs:\n  - id: times\n    type: INT\n"
        f"tasks:\n  - id: only\n    type: {RETURN}\n    format: x\n",
    )
    wrong_type = api.post("/executions/ex.refused/typed", json={"inputs": {"times": "many"}})
    assert wrong_type.status_code == 422
    assert "times" in wrong_type.json()["message"]
    unknown_field = api.post("/executions/ex.refused/typed", json={"input": {"times": 1}})
    assert unknown_field.status_code == 422
    assert unknown_field.json()["details"]["problems"][0]["location"] == ["body", "input"]
    malformed = api.post(
        "/executions/ex.refused/typed",
        data=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed")
    missing = api.post("/executions/ex.refused/nothing", json={})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert api.get("/executions/0000000000000000000000").status_code == 404


def test_a_disabled_flow_is_not_started(api: Api, store: Store) -> None:
    save_flow(
        store,
        "id: off\nnamespace: ex.disabled\ndisabled: true\n"
        f"tasks:\n  - id: only\n    type: {RETURN}\n    format: x\n"
        "triggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n"
        "    key: k\n",
    )
    refused = api.post("/executions/ex.disabled/off", json={})
    assert (refused.status_code, refused.json()["code"]) == (409, "flow_disabled")
    assert "disabled" in refused.json()["message"]
    by_webhook = api.post("/executions/webhook/ex.disabled/off/k")
    assert (by_webhook.status_code, by_webhook.json()["code"]) == (409, "flow_disabled")
    listed = api.get("/executions/search", params={"namespace": "ex.disabled"}).json()
    assert listed["total"] == 0


def test_a_file_input_goes_up_as_a_form_and_comes_back_from_its_execution_only(
    api: Api, store: Store
) -> None:
    save_flow(
        store,
        """id: upload
namespace: ex.files
inputs:
  - id: data
    type: FILE
  - id: note
    type: STRING
tasks:
  - id: where
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.note }} {{ inputs.data }}"
""",
    )
    content = b"a,b\n1,2\n"
    form = [
        ("note", (None, "hi")),
        ("labels", (None, "source:test")),
        ("labels", (None, "team:x:y")),
        ("data", ("rows.csv", content, "text/csv")),
    ]
    answer = api.post("/executions/ex.files/upload", files=form)
    assert answer.status_code == 201, answer.text
    first = answer.json()
    uri = first["inputs"]["data"]
    assert uri.startswith(f"kestra:///ex/files/upload/executions/{first['id']}/")
    assert first["inputs"]["note"] == "hi"
    assert first["labels"]["source"] == "test"
    assert first["labels"]["team"] == "x:y"
    assert wait_for(api, first["id"])["taskRunList"][0]["outputs"] == {"value": f"hi {uri}"}

    read = api.get(f"/executions/{first['id']}/file", params={"uri": uri})
    assert read.status_code == 200
    assert read.content == content
    assert read.headers["Content-Type"] == "application/octet-stream"

    other = api.post("/executions/ex.files/upload", files=form).json()
    other_uri = other["inputs"]["data"]
    assert api.get(f"/executions/{other['id']}/file", params={"uri": other_uri}).ok
    for refused in (
        other_uri,
        uri.replace(first["id"], f"{first['id']}/../{other['id']}"),
        uri.removeprefix("kestra://"),
        uri + ".missing",
    ):
        answer = api.get(f"/executions/{first['id']}/file", params={"uri": refused})
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), refused
    bad_label = api.post(
        "/executions/ex.files/upload", files=[("labels", (None, "no-colon")), *form]
    )
    assert bad_label.status_code == 422
    assert bad_label.json()["details"]["problems"][0]["location"] == ["body", "labels"]


def test_search_pages_executions_by_namespace_flow_and_state(api: Api, store: Store) -> None:
    quick_flow(store, "ex.search", "ok")
    quick_flow(store, "ex.search.sub", "ok")
    quick_flow(store, "ex.searchx", "ok")
    save_flow(
        store,
        "id: bad\nnamespace: ex.search\n"
        "tasks:\n  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n",
    )
    ids = [
        start(api, ns, flow)["id"]
        for ns, flow in [
            ("ex.search", "ok"),
            ("ex.search", "bad"),
            ("ex.search.sub", "ok"),
            ("ex.searchx", "ok"),
            ("ex.search", "ok"),
        ]
    ]
    for execution_id in ids:
        wait_for(api, execution_id)

    def search(**params: Any) -> Json:
        answer = api.get("/executions/search", params=params)
        assert answer.status_code == 200, answer.text
        found: Json = answer.json()
        return found

    everything = search(namespace="ex.search")
    assert everything["total"] == 4
    assert [e["id"] for e in everything["results"]] == [ids[4], ids[2], ids[1], ids[0]]
    assert search(namespace="ex.search", flow_id="ok")["total"] == 3
    failed = search(namespace="ex.search", state="FAILED")
    assert [e["id"] for e in failed["results"]] == [ids[1]]
    assert search(namespace="ex.search", state=["FAILED", "SUCCESS"])["total"] == 4
    second = search(namespace="ex.search", page=2, size=1)
    assert (second["total"], [e["id"] for e in second["results"]]) == (4, [ids[2]])
    assert api.get("/executions/search", params={"state": "NOPE"}).status_code == 422


def test_kill_stops_a_sleeping_execution(api: Api, store: Store) -> None:
    save_flow(
        store,
        "id: nap\nnamespace: ex.kill\n"
        "tasks:\n  - id: sleep\n    type: io.kestra.plugin.core.flow.Sleep\n"
        "    duration: PT60S\n",
    )
    started = start(api, "ex.kill", "nap")
    dispatched = wait_for(api, started["id"], lambda e: bool(e["taskRunList"]))
    assert dispatched["state"]["current"] == "RUNNING"
    killed = api.delete(f"/executions/{started['id']}/kill")
    assert killed.status_code == 202
    final = wait_for(api, started["id"])
    assert final["state"]["current"] == "KILLED"
    assert final["taskRunList"][0]["state"]["current"] == "KILLED"
    again = api.delete(f"/executions/{started['id']}/kill")
    assert (again.status_code, again.json()["code"]) == (409, "execution_ended")


def test_a_paused_execution_resumes_with_inputs(api: Api, store: Store) -> None:
    save_flow(
        store,
        """id: ask
namespace: ex.resume
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: asked
        type: STRING
        required: false
  - id: last
    type: io.kestra.plugin.core.output.OutputValues
    values:
      asked: "{{ outputs.pause.onResume.asked ?? 'MISSING' }}"
""",
    )
    started = start(api, "ex.resume", "ask")
    assert wait_for(api, started["id"], in_state("PAUSED"))["state"]["current"] == "PAUSED"
    resumed = api.post(f"/executions/{started['id']}/resume", json={"inputs": {"asked": "yes"}})
    assert resumed.status_code == 202
    final = wait_for(api, started["id"])
    assert final["state"]["current"] == "SUCCESS"
    assert final["taskRunList"][-1]["outputs"]["values"] == {"asked": "yes"}
    again = api.post(f"/executions/{started['id']}/resume", json={"inputs": {}})
    assert (again.status_code, again.json()["code"]) == (409, "not_paused")


def test_a_failed_execution_restarts_and_a_successful_one_does_not(api: Api, store: Store) -> None:
    save_flow(
        store,
        "id: flaky\nnamespace: ex.restart\n"
        "tasks:\n  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n",
    )
    quick_flow(store, "ex.restart", "fine")
    failed = wait_for(api, start(api, "ex.restart", "flaky")["id"])
    assert failed["state"]["current"] == "FAILED"
    assert api.post(f"/executions/{failed['id']}/restart").status_code == 202
    final = wait_for(
        api,
        failed["id"],
        lambda e: over(e) and len(e["taskRunList"][0]["attempts"]) == 2,
    )
    assert [h["state"] for h in final["state"]["histories"]].count("RESTARTED") == 1
    assert final["state"]["current"] == "FAILED"
    fine = wait_for(api, start(api, "ex.restart", "fine")["id"])
    refused = api.post(f"/executions/{fine['id']}/restart")
    assert (refused.status_code, refused.json()["code"]) == (409, "not_restartable")


def test_logs_are_read_in_order_by_level_and_after_a_seq(api: Api, store: Store) -> None:
    save_flow(
        store,
        f"""id: chatty
namespace: ex.logs
tasks:
  - id: first
    type: {LOG}
    message: one
  - id: second
    type: {LOG}
    message: two
    level: WARN
""",
    )
    execution = wait_for(api, start(api, "ex.logs", "chatty")["id"])
    lines = api.get(f"/executions/{execution['id']}/logs").json()
    mine = [line for line in lines if line["message"] in ("one", "two")]
    assert [(line["taskId"], line["level"], line["message"]) for line in mine] == [
        ("first", "INFO", "one"),
        ("second", "WARN", "two"),
    ]
    assert set(mine[0]) == {"seq", "at", "level", "taskId", "taskRunId", "attempt", "message"}
    assert mine[0]["taskRunId"] == execution["taskRunList"][0]["id"]
    assert [line["seq"] for line in lines] == sorted(line["seq"] for line in lines)
    warnings = api.get(f"/executions/{execution['id']}/logs", params={"min_level": "WARN"})
    assert [line["message"] for line in warnings.json()] == ["two"]
    later = api.get(f"/executions/{execution['id']}/logs", params={"after": mine[0]["seq"]})
    assert "one" not in [line["message"] for line in later.json()]
    assert "two" in [line["message"] for line in later.json()]


def read_events(api: Api, path: str, **kwargs: Any) -> Iterator[tuple[str, str, str | None]]:
    """(event, data, id) of each Server-Sent Event of a stream, until it ends."""
    with api.get(path, stream=True, timeout=30, **kwargs) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        event: Json = {}
        for line in response.iter_lines(decode_unicode=True):
            if not line:
                if event:
                    yield event.get("event", "message"), event.get("data", ""), event.get("id")
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                event[field] = value


def test_follow_streams_logs_as_they_come_then_the_end_state(api: Api, store: Store) -> None:
    save_flow(
        store,
        f"""id: slow
namespace: ex.follow
tasks:
  - id: before
    type: {LOG}
    message: before the nap
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT2S
  - id: after
    type: {LOG}
    message: after the nap
""",
    )
    started = start(api, "ex.follow", "slow")
    path = f"/executions/{started['id']}/logs/follow"
    events = []
    for event in read_events(api, path):
        if not events:
            live = api.get(f"/executions/{started['id']}").json()
            assert live["state"]["current"] == "RUNNING", "the first line came only at the end"
        events.append(event)
    logs = [(json.loads(data), seq) for name, data, seq in events if name == "log"]
    messages = [line["message"] for line, _ in logs]
    assert messages.index("before the nap") < messages.index("after the nap")
    assert all(seq == str(line["seq"]) for line, seq in logs)
    assert events[-1][:2] == ("end", json.dumps({"state": "SUCCESS"}))
    assert [name for name, _, _ in events].count("end") == 1

    before = next(line["seq"] for line, _ in logs if line["message"] == "before the nap")
    resumed = list(read_events(api, path, headers={"Last-Event-ID": str(before)}))
    assert [json.loads(d)["message"] for n, d, _ in resumed if n == "log"] == messages[
        messages.index("before the nap") + 1 :
    ]
    assert resumed[-1][0] == "end"
    warnings = list(read_events(api, path, params={"min_level": "WARN"}))
    assert [name for name, _, _ in warnings] == ["end"]


def test_a_quiet_stream_is_kept_alive_with_comments(
    api: Api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logstream, "KEEP_ALIVE_SECONDS", 0.3)
    save_flow(
        store,
        "id: wait\nnamespace: ex.quiet\n"
        "tasks:\n  - id: pause\n    type: io.kestra.plugin.core.flow.Pause\n",
    )
    started = start(api, "ex.quiet", "wait")
    path = f"/executions/{started['id']}/logs/follow"
    with api.get(path, stream=True, timeout=10) as response:
        lines = response.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line) == ": keep-alive"
    api.delete(f"/executions/{started['id']}/kill")


def test_a_webhook_starts_its_flow_with_the_right_key_only(api: Api, store: Store) -> None:
    save_flow(
        store,
        """id: hook
namespace: ex.hooks
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.body.hello }} from {{ trigger.parameters.source[0] }}"
triggers:
  - id: on
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret-key
  - id: off
    type: io.kestra.plugin.core.trigger.Webhook
    key: old-key
    disabled: true
""",
    )
    answer = api.post(
        "/executions/webhook/ex.hooks/hook/s3cret-key",
        params={"source": "ci"},
        json={"hello": "world"},
        headers={"Authorization": "Bearer not-for-the-flow", "X-Event": "push"},
    )
    assert answer.status_code == 201, answer.text
    trigger = answer.json()["trigger"]
    assert trigger["body"] == {"hello": "world"}
    assert trigger["parameters"] == {"source": ["ci"]}
    assert trigger["headers"]["x-event"] == ["push"]
    assert "authorization" not in trigger["headers"]
    final = wait_for(api, answer.json()["id"])
    assert final["taskRunList"][0]["outputs"] == {"value": "world from ci"}

    text = api.post(
        "/executions/webhook/ex.hooks/hook/s3cret-key",
        data=b"plain words",
        headers={"Content-Type": "text/plain"},
    )
    assert text.json()["trigger"]["body"] == "plain words"

    refusals = [
        api.post("/executions/webhook/ex.hooks/hook/wrong-key", json={}),
        api.post("/executions/webhook/ex.hooks/hook/old-key", json={}),
        api.post("/executions/webhook/ex.hooks/absent/s3cret-key", json={}),
    ]
    assert [r.status_code for r in refusals] == [404, 404, 404]
    assert refusals[0].json() == refusals[1].json()
    assert {r.json()["code"] for r in refusals} == {"not_found"}


def test_a_webhook_key_may_be_an_expression(api: Api, store: Store) -> None:
    save_flow(
        store,
        f"id: dynamic\nnamespace: ex.hooks.dyn\n"
        f"tasks:\n  - id: only\n    type: {RETURN}\n    format: x\n"
        "triggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n"
        '    key: "{{ flow.id }}-key"\n',
    )
    assert api.post("/executions/webhook/ex.hooks.dyn/dynamic/dynamic-key").status_code == 201
    raw = api.post("/executions/webhook/ex.hooks.dyn/dynamic/{{ flow.id }}-key")
    assert raw.status_code == 404


# -- who may do what -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("guarded-executions")
    server = serve(
        ApiSettings(store=StoreSettings(home=Path(home)), require_tokens=True, worker_threads=2)
    )
    yield server
    server.stop()


def session(server: LiveServer, token: str) -> Api:
    api = Api(server.url)
    api.headers["Authorization"] = f"Bearer {token}"
    return api


def test_a_namespace_limited_token_sees_and_runs_only_its_executions(
    guarded: LiveServer,
) -> None:
    store: Store = guarded.server.config.app.state.store
    quick_flow(store, "team.a", "job")
    quick_flow(store, "team.b", "job")
    _, admin_token = issue_token(store, "admin", "admin")
    _, team_token = issue_token(store, "team", "write", namespaces=["team.a"])
    _, reader_token = issue_token(store, "reader", "read", namespaces=["team.a"])
    admin, team, reader = (session(guarded, t) for t in (admin_token, team_token, reader_token))
    theirs = start(admin, "team.b", "job")
    ours = start(team, "team.a", "job")
    assert team.post("/executions/team.b/job", json={}).status_code == 403

    existing = team.get(f"/executions/{theirs['id']}")
    missing = team.get("/executions/0000000000000000000000")
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["details"] == missing.json()["details"]
    assert team.get(f"/executions/{theirs['id']}/logs").status_code == 403
    assert team.delete(f"/executions/{theirs['id']}/kill").status_code == 403

    listed = team.get("/executions/search").json()
    assert ([e["id"] for e in listed["results"]], listed["total"]) == ([ours["id"]], 1)
    assert team.get("/executions/search", params={"namespace": "team.b"}).json()["total"] == 0

    assert reader.get(f"/executions/{ours['id']}").status_code == 200
    refused = reader.post(f"/executions/{ours['id']}/restart")
    assert (refused.status_code, refused.json()["details"]) == (403, {"needed": "write"})
    assert Api(guarded.url).get(f"/executions/{ours['id']}").status_code == 401


def test_a_webhook_needs_its_key_and_no_token(guarded: LiveServer) -> None:
    store: Store = guarded.server.config.app.state.store
    save_flow(
        store,
        f"id: hook\nnamespace: team.hooks\n"
        f"tasks:\n  - id: only\n    type: {RETURN}\n    format: x\n"
        "triggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n"
        "    key: the-key\n",
    )
    anonymous = Api(guarded.url)
    assert anonymous.post("/executions/webhook/team.hooks/hook/the-key").status_code == 201
    assert anonymous.post("/executions/webhook/team.hooks/hook/other").status_code == 404


def test_secret_inputs_are_masked_in_every_answer(api: Api, store: Store) -> None:
    save_flow(
        store,
        "id: login\nnamespace: ex.secret\n"
        "inputs:\n  - id: user\n    type: STRING\n  - id: password\n    type: SECRET\n"
        f"tasks:\n  - id: hi\n    type: {LOG}\n    message: hi\n",
    )
    started = start(api, "ex.secret", "login", inputs={"user": "ada", "password": "hunter2-xyz"})
    assert started["inputs"] == {"user": "ada", "password": "********"}
    ended = wait_for(api, started["id"])
    assert ended["state"]["current"] == "SUCCESS"
    assert ended["inputs"] == {"user": "ada", "password": "********"}
    found = api.get("/executions/search", params={"namespace": "ex.secret"})
    assert found.json()["results"][0]["inputs"] == {"user": "ada", "password": "********"}
    assert "hunter2" not in found.text
