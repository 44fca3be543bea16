"""The ``tool.KestraFlow`` tool on kestra-io/blueprints' ``ai-agent-calling-flows``: a Gemini
agent (a local double of the API) starts the flow its model picks through a live Weir server's
API, and the next task builds the execution's URL from the tool's result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.client import WeirClient
from controlplane.store import StoreSettings
from tests.doubles.gemini import API_KEY, GeminiDouble
from tests.integration.api.conftest import LiveServer, serve

BLUEPRINT = """
id: ai-agent-calling-flows
namespace: tutorial
description: AI Agent

inputs:
  - id: use_case
    type: SELECT
    displayName: Select Your Orchestration Use Case
    defaults: Just Exploring
    values:
      - Business Automation
      - Just Exploring
tasks:
  - id: agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: |
      Execute a flow that best matches the {{inputs.use_case}} use case selected by the user.
      - Business Automation: business-automation
      - Just Exploring: hello-world
      Remember that all those flows are in the tutorial namespace.
    provider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-2.5-flash
      apiKey: "{{ secret('GEMINI_API_KEY') }}"
    tools:
      - type: io.kestra.plugin.ai.tool.KestraFlow

  - id: uri
    type: io.kestra.plugin.core.debug.Return
    format: "{{ (kestra.url ?? 'http://localhost:8080/') ~ 'ui/' ~ fromJson((outputs.agent.toolExecutions | first).result).tenantId ~ '/executions/tutorial/' ~ fromJson((outputs.agent.toolExecutions | first).result).flowId ~ '/' ~ fromJson((outputs.agent.toolExecutions | first).result).id }}"
"""

HELLO = """
id: hello-world
namespace: tutorial
inputs:
  - id: greeting
    type: STRING
    defaults: Hi
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.greeting }} from the flow the agent picked"
"""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    import controlplane.tasks  # noqa: F401

    live = serve(ApiSettings(store=StoreSettings(home=tmp_path / "home"), worker_threads=2))
    monkeypatch.setenv("WEIR_URL", live.url)
    yield live
    live.stop()


def test_the_agent_starts_the_flow_its_model_picks_through_the_api(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with GeminiDouble() as gemini, WeirClient(server.url, retries=0) as weir:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.base_url)
        call = {"name": "kestra_flow", "args": {"namespace": "tutorial", "flowId": "hello-world",
                "inputs": [{"id": "greeting", "value": "Bonjour"}]}}  # fmt: skip
        gemini.replies = [{"functionCall": call}, "Started."]
        weir.secrets.set("tutorial", "GEMINI_API_KEY", API_KEY)
        weir.flows.put(HELLO)
        weir.flows.put(BLUEPRINT)
        started = weir.executions.create("tutorial", "ai-agent-calling-flows")
        final = weir.executions.wait(started.id, timeout=120)
        runs = {run["taskId"]: run for run in final.task_runs}
        assert final.state == "SUCCESS", runs
        (declared,) = gemini.requests[0]["tools"][0]["functionDeclarations"]
        assert declared["name"] == "kestra_flow"
        assert declared["parameters"]["required"] == ["namespace", "flowId"]
        answer = gemini.requests[1]["contents"][-1]["parts"][0]["functionResponse"]
        assert answer["name"] == "kestra_flow"
        child_id = json.loads(answer["response"]["result"])["id"]
        child = weir.executions.wait(child_id, timeout=120)
        assert child.flow_id == "hello-world" and child.state == "SUCCESS"
        assert child.inputs == {"greeting": "Bonjour"}
        assert runs["uri"]["outputs"]["value"] == (
            f"http://localhost:8080/ui/main/executions/tutorial/hello-world/{child_id}"
        )


def test_the_agent_cannot_start_a_flow_of_a_namespace_out_of_reach(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with GeminiDouble() as gemini, WeirClient(server.url, retries=0) as weir:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.base_url)
        call = {"name": "kestra_flow", "args": {"namespace": "other", "flowId": "hello-world"}}
        gemini.replies = [{"functionCall": call}, "Started."]
        weir.secrets.set("tutorial", "GEMINI_API_KEY", API_KEY)
        weir.flows.put(HELLO.replace("namespace: tutorial", "namespace: other"))
        weir.flows.put(BLUEPRINT)
        started = weir.executions.create("tutorial", "ai-agent-calling-flows")
        final = weir.executions.wait(started.id, timeout=120)
        assert final.state == "FAILED"
        errors = " ".join(
            str(attempt.get("error")) for run in final.task_runs for attempt in run["attempts"]
        )
        assert "other" in errors and "tutorial" in errors, errors
        assert weir.executions.search(namespace="other").total == 0
