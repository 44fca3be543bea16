"""n8n's TriggerWorkflow against a local double of n8n's Webhook node, with the first two
tasks of kestra-io/blueprints' ``ai-learning-roadmap-n8n`` flow run as written (its third
task needs pandas, which the test environment does not have)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.n8n import N8nDouble, Webhook
from tests.integration.compat.conftest import Flows

HOOK = "5f1c2a9e-7d3b-4c8e-9a61-0b2f4d6e8c13"

# kestra-io/blueprints flows/ai-learning-roadmap-n8n.yaml up to its ``create_csv`` task.
LEARNING_ROADMAP = r'''
id: ai-learning-roadmap-n8n
namespace: company.team

triggers:
  - id: prompt
    type: io.kestra.plugin.core.trigger.Webhook
    key: prompt

inputs:
  - name: prompt
    type: STRING
    description: Natural language learning request
    defaults: I want to learn Kubernetes in 60 days with hands-on practice

tasks:
  - id: call_n8n
    type: io.kestra.plugin.n8n.TriggerWorkflow
    method: POST
    uri: "{{ secret('N8N_WEBHOOK_URL') }}"
    body:
      prompt: "{{ inputs.prompt }}"

  - id: validate_roadmap
    type: io.kestra.plugin.scripts.python.Script
    outputFiles:
      - roadmap.json
    script: |
      import json

      raw = """{{ outputs.call_n8n.body }}"""
      roadmap = json.loads(raw)

      if not isinstance(roadmap, list):
          raise ValueError("Expected a JSON array of roadmap entries")

      required_keys = {"day", "focus", "topics", "practice", "outcome"}
      for item in roadmap:
          if not required_keys.issubset(item):
              raise ValueError(f"Invalid roadmap item: {item}")

      with open("roadmap.json", "w") as f:
          json.dump(roadmap, f, indent=2)
'''

ROADMAP = [
    {"day": 1, "focus": "Containers", "topics": ["images"], "practice": "docker run",
     "outcome": "Run a container"},
    {"day": 2, "focus": "Pods", "topics": ["kubectl"], "practice": "kind cluster",
     "outcome": "Deploy a pod"},
]  # fmt: skip


@pytest.fixture
def n8n(flows: Flows) -> Iterator[N8nDouble]:
    with N8nDouble() as double:
        with flows.store.unit() as repos:
            url = f"{double.url}/webhook/{HOOK}"
            repos.secrets.update_secret("company.team", "N8N_WEBHOOK_URL", url)
        yield double


def test_the_roadmap_blueprint_sends_the_prompt_and_validates_the_answer(
    flows: Flows, n8n: N8nDouble
) -> None:
    n8n.webhooks[HOOK] = Webhook("POST", answer=ROADMAP)
    final = flows.run(LEARNING_ROADMAP, {"prompt": "Learn Kubernetes in 2 days"})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (call,) = n8n.calls
    assert call.body == {"prompt": "Learn Kubernetes in 2 days"}
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["call_n8n"] == {"statusCode": 200, "body": ROADMAP}
    assert "roadmap.json" in outputs["validate_roadmap"]["outputFiles"]
    assert all(HOOK not in line for line in flows.logs(final))


def test_query_headers_basic_auth_and_a_stored_file(flows: Flows, n8n: N8nDouble) -> None:
    n8n.webhooks["upload"] = Webhook("PUT", header=("X-Team", "data"))
    final = flows.run(
        f"""
id: n8n-upload
namespace: company.team
tasks:
  - id: file
    type: io.kestra.plugin.core.storage.Write
    content: "id,name\\n1,Ada\\n"
    extension: .csv
  - id: send
    type: io.kestra.plugin.n8n.webhook.TriggerWorkflow
    uri: {n8n.url}/webhook/upload?source=kestra
    method: PUT
    contentType: TEXT
    from: "{{{{ outputs.file.uri }}}}"
    queryParameters:
      batch: 7
    headers:
      X-Team: data
    options:
      auth:
        type: BASIC
        username: bot
        password: pa55-word
  - id: no_wait
    type: io.kestra.plugin.n8n.webhook.TriggerWorkflow
    uri: {n8n.url}/webhook/upload
    method: PUT
    headers:
      X-Team: data
    wait: false
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    first = n8n.calls[0]
    assert first.body == "id,name\n1,Ada\n"
    assert first.query == {"source": ["kestra"], "batch": ["7"]}
    assert first.headers["content-type"] == "text/plain"
    assert first.headers["authorization"] == "Basic " + base64.b64encode(b"bot:pa55-word").decode()
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["send"] == {"statusCode": 200, "body": {"message": "Workflow was started"}}
    assert outputs["no_wait"] == {"statusCode": 200, "body": None}


def test_an_unregistered_webhook_fails_without_showing_its_path(
    flows: Flows, n8n: N8nDouble
) -> None:
    final = flows.run(
        """
id: n8n-missing
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.n8n.TriggerWorkflow
    method: POST
    uri: "{{ secret('N8N_WEBHOOK_URL') }}"
    body:
      prompt: hi
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any("n8n API error 404" in e and "is not registered" in e for e in errors), errors
    assert all(HOOK not in line for line in flows.logs(final)), flows.logs(final)
