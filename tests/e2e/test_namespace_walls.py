"""Namespaces are walls inside the engine, on the real ``weir server standalone`` with tokens
required: a write token scoped to ``team.a`` runs flows that try to reach ``team.b`` (its KV
pairs through ``kv()`` and the KV tasks, its flows through Subflow and Flow triggers), and to
overwrite a KV pair Terraform manages. Each attempt fails with the message a user sees, naming
both namespaces and the setting to change; once ``team.b`` allows ``team.a`` the same flows
reach it. The same tenant's other attacks: its own secret put in outputs, labels and flow
outputs and logged in encodings (a read-only token reads the execution and its logs), a runaway
expression under a timeout, and ``/metrics``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from controlplane.api.auth import issue_token
from controlplane.client import WeirClient
from controlplane.client.models import Execution
from controlplane.store import StoreSettings, open_store
from tests.standalone import standalone
from tests.waiting import ended_through, wait_until

REFUSED = (
    "namespace 'team.a' may not reach {what} of namespace 'team.b': 'team.b' does not allow it. "
    "Add 'team.a' to the allowedNamespaces of namespace 'team.b'"
)

READ_KV = """\
id: read_kv
namespace: team.a
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ kv('bkey', namespace='team.b') }}"
"""
SET_KV = """\
id: set_kv
namespace: team.a
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    namespace: team.b
    key: bkey
    value: overwritten
"""
LIST_KV = """\
id: list_kv
namespace: team.a
tasks:
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    namespace: team.b
"""
CALL = """\
id: call
namespace: team.a
tasks:
  - id: child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: team.b
    flowId: child
    wait: true
"""
CHILD = """\
id: child
namespace: team.b
tasks:
  - id: answer
    type: io.kestra.plugin.core.debug.Return
    format: "from b"
outputs:
  - id: answer
    type: STRING
    value: "{{ outputs.answer.value }}"
"""
LISTEN = """\
id: listen
namespace: team.a
triggers:
  - id: on_child
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: team.b
        flowId: child
tasks:
  - id: saw
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.executionId }}"
"""
SECRET = "a-Key-" + "7f3c9e1d"
LEAK = """\
id: leak
namespace: team.a
tasks:
  - id: returned
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('A_KEY') }}"
  - id: values
    type: io.kestra.plugin.core.output.OutputValues
    values:
      key: "{{ secret('A_KEY') | upper }}"
  - id: label
    type: io.kestra.plugin.core.execution.Labels
    labels:
      key: "{{ secret('A_KEY') }}"
  - id: logged
    type: io.kestra.plugin.core.log.Log
    message:
      - "{{ secret('A_KEY') | upper }}"
      - "{{ secret('A_KEY') | base64encode }}"
      - "{{ secret('A_KEY') | split('') | join(' ') }}"
outputs:
  - id: key
    type: STRING
    value: "{{ outputs.returned.value }}"
"""
RUNAWAY = """\
id: runaway
namespace: team.a
tasks:
  - id: spin
    type: io.kestra.plugin.core.debug.Return
    timeout: PT1S
    format: "{% for i in 0..9999 %}{{ range(0, 99999) | length }}{% endfor %}done"
"""
MANAGED = """\
id: managed
namespace: team.a
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: owned
    value: changed by a flow
  - id: delete
    type: io.kestra.plugin.core.kv.Delete
    key: owned
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, str]]:
    """The server's URL, an admin token and a write token of ``team.a``."""
    home = tmp_path_factory.mktemp("walls")
    store = open_store(StoreSettings(home=home))
    try:
        _, admin = issue_token(store, "admin", "admin")
        _, team_a = issue_token(store, "team-a", "write", ["team.a"])
        _, reader = issue_token(store, "team-a-reader", "read", ["team.a"])
    finally:
        store.close()
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    with standalone(env, Path(home), "--auth", "tokens") as (url, _):
        with WeirClient(url, admin, manager=None) as root:
            root.namespaces.put("team.a")
            root.namespaces.put("team.b")
            root.kv.set("team.b", "bkey", "b's value")
            root.secrets.set("team.a", "A_KEY", SECRET)
            root.namespaces.put("team.c")
            root.flows.put(CHILD)
            root.flows.put(CHILD.replace("namespace: team.b", "namespace: team.c"))
        with WeirClient(url, admin, manager="terraform") as terraform:
            terraform.kv.set("team.a", "owned", "terraform's value")
        yield url, admin, team_a, reader


@pytest.fixture(scope="module")
def team_a(server: tuple[str, str, str, str]) -> Iterator[WeirClient]:
    with WeirClient(server[0], server[2], manager=None) as client:
        listen_c = LISTEN.replace("id: listen", "id: listen_c").replace("team.b", "team.c")
        for source in (READ_KV, SET_KV, LIST_KV, CALL, LISTEN, listen_c, MANAGED, LEAK, RUNAWAY):
            client.flows.put(source)
        yield client


def _run(client: WeirClient, flow_id: str) -> tuple[Execution, list[str]]:
    run = client.executions.create("team.a", flow_id)
    done = ended_through(client.executions, run.id)
    return done, [line.message for line in client.executions.logs(run.id)]


@pytest.mark.parametrize(
    ("flow_id", "what"),
    [("read_kv", "the KV pairs"), ("set_kv", "the KV pairs"), ("list_kv", "the KV pairs")],
)
def test_another_namespaces_kv_pairs_are_refused(
    team_a: WeirClient, flow_id: str, what: str
) -> None:
    done, logs = _run(team_a, flow_id)
    assert done.state == "FAILED"
    assert any(REFUSED.format(what=what) in line for line in logs), logs
    assert not any("b's value" in line for line in logs)


def test_a_subflow_of_another_namespace_is_refused(team_a: WeirClient) -> None:
    done, logs = _run(team_a, "call")
    assert done.state == "FAILED"
    assert any(REFUSED.format(what="the flows") in line for line in logs), logs
    assert "from b" not in repr(done.raw)


def test_a_kv_pair_terraform_manages_is_not_changed_by_a_flow(
    server: tuple[str, str, str, str], team_a: WeirClient
) -> None:
    done, logs = _run(team_a, "managed")
    assert done.state == "FAILED"
    assert any(
        "Cannot overwrite the KV pair 'owned' of namespace 'team.a': it is managed by terraform"
        in line
        for line in logs
    ), logs
    with WeirClient(server[0], server[1], manager=None) as root:
        assert root.kv.get("team.a", "owned").value == "terraform's value"


def test_once_allowed_the_same_flows_reach_the_other_namespace(
    server: tuple[str, str, str, str], team_a: WeirClient
) -> None:
    url, admin, _, _ = server
    with WeirClient(url, admin, manager=None) as root:
        unheard = root.executions.create("team.c", "child")
        assert ended_through(root.executions, unheard.id).state == "SUCCESS"
        root.namespaces.put("team.b", allowed_namespaces=["team.a"])
        assert root.namespaces.get("team.b").allowed_namespaces == ("team.a",)
        allowed = root.executions.create("team.b", "child")
        assert ended_through(root.executions, allowed.id).state == "SUCCESS"
    done, logs = _run(team_a, "read_kv")
    assert done.state == "SUCCESS", logs
    assert done.task_runs[0]["outputs"]["value"] == "b's value"
    done, logs = _run(team_a, "call")
    assert done.state == "SUCCESS", logs
    called = done.task_runs[0]["outputs"]["executionId"]
    # The Flow triggers heard the two ends of team.b's child once team.b allowed team.a (its
    # own run and the subflow's), and not the end of team.c's, which came first: ends are heard
    # in order, so it was considered, and refused, before them.
    heard = wait_until(
        lambda: team_a.executions.search("team.a", "listen").results,
        lambda found: len(found) >= 2,
        "the Flow trigger's executions",
    )
    ended = [ended_through(team_a.executions, execution.id) for execution in heard]
    assert {e.task_runs[0]["outputs"]["value"] for e in ended} == {allowed.id, called}
    assert team_a.executions.search("team.a", "listen_c").total == 0


def test_a_secret_never_comes_back_in_clear(
    server: tuple[str, str, str, str], team_a: WeirClient
) -> None:
    done, _ = _run(team_a, "leak")
    assert done.state == "SUCCESS"
    encoded = base64.b64encode(SECRET.encode()).decode()
    clear = (SECRET, SECRET.upper(), encoded, " ".join(SECRET))
    with WeirClient(server[0], server[3], manager=None) as reader:
        seen = repr(reader.executions.get(done.id).raw)
        logs = [line.message for line in reader.executions.logs(done.id)]
    assert "********" in seen and not any(text in seen for text in clear)
    assert len(logs) == 3 and all("********" in line for line in logs)
    assert not any(text in line for line in logs for text in clear)


def test_a_runaway_expression_is_stopped_by_the_task_timeout(team_a: WeirClient) -> None:
    # Few steps, each long: the timeout (1 s) comes long before the step budget or the 5 s one.
    done, logs = _run(team_a, "runaway")
    assert done.state == "FAILED"
    assert any("Timeout after PT1S" in line for line in logs), logs


def test_metrics_need_a_token_of_every_namespace(server: tuple[str, str, str, str]) -> None:
    url, admin, team_a, _ = server
    limited = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {team_a}"})
    assert limited.status_code == 403
    assert "not limited to namespaces" in limited.json()["message"]
    whole = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert whole.status_code == 200 and "weir_executions" in whole.text
