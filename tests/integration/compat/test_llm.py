"""Anthropic, Perplexity and DeepSeek chat completions against local doubles of their APIs, on
the shape of kestra-io/blueprints' ``ai-daily-digest-email-anthropic``,
``ai-notion-summary-perplexity`` and ``ai-add-tasks-deepseek`` flows: a system prompt and user
messages, the reply used by the next task."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles import Received, Reply, ServiceDouble
from tests.doubles.openai import API_KEY, OpenAIDouble
from tests.integration.compat.conftest import Flows

ANTHROPIC_KEY = "sk-ant-test-9d8c7b6a"


class AnthropicDouble(ServiceDouble):
    """``POST /v1/messages``: ``x-api-key`` and ``anthropic-version`` required (401
    ``authentication_error`` / 400 otherwise); the reply is one text block."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, object]] = []

    def handle(self, request: Received) -> Reply:
        if request.path != "/v1/messages":
            return Reply(404, {"type": "error", "error": {"type": "not_found_error"}})
        if request.headers.get("x-api-key") != ANTHROPIC_KEY:
            error = {"type": "authentication_error", "message": "invalid x-api-key"}
            return Reply(401, {"type": "error", "error": error})
        if request.headers.get("anthropic-version") != "2023-06-01":
            return Reply(400, {"type": "error", "error": {"message": "anthropic-version"}})
        body = request.body
        self.bodies.append(body)
        last = body["messages"][-1]["content"]
        return Reply(
            200,
            {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": f"Summary of: {last[:20]}"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 31, "output_tokens": 9},
            },
        )


@pytest.fixture
def anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicDouble]:
    with AnthropicDouble() as double:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", double.url)
        yield double


@pytest.fixture
def compatible(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIDouble]:
    with OpenAIDouble() as double:
        monkeypatch.setenv("PERPLEXITY_BASE_URL", double.base_url)
        yield double


def test_claude_answers_and_its_reply_feeds_the_next_task(
    flows: Flows, anthropic: AnthropicDouble
) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    final = flows.run(
        """
id: ai-daily-digest-email-anthropic
namespace: company.team
tasks:
  - id: get_digest
    type: io.kestra.plugin.anthropic.ChatCompletion
    system: "You're a helpful assistant who is going to help plan the day ahead."
    messages:
      - type: USER
        content: "What is the weather like in London?"
      - type: USER
        content: "What train should I catch?"
  - id: turn_into_html
    type: io.kestra.plugin.anthropic.ChatCompletion
    system: "Turn any user message into a nicely formatted HTML email."
    temperature: 0.2
    messages:
      - type: USER
        content: "{{ outputs.get_digest.outputText }}"
pluginDefaults:
  - type: io.kestra.plugin.anthropic.ChatCompletion
    values:
      apiKey: "{{ secret('ANTHROPIC_API_KEY') }}"
      model: claude-sonnet-4-5
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    first, second = anthropic.bodies
    assert first["system"].startswith("You're a helpful assistant")  # type: ignore[union-attr]
    assert first["max_tokens"] == 1024 and len(first["messages"]) == 2  # type: ignore[arg-type]
    assert second["messages"] == [{"role": "user", "content": "Summary of: What train should I "}]
    assert second["temperature"] == 0.2
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["turn_into_html"]["outputText"] == "Summary of: Summary of: What tra"
    assert outputs["get_digest"]["stopReason"] == "end_turn"
    assert json.loads(outputs["get_digest"]["rawResponse"])["usage"]["input_tokens"] == 31


def test_perplexity_and_deepseek_use_the_compatible_api(
    flows: Flows, compatible: OpenAIDouble
) -> None:
    compatible.replies = ["- Berlin news", '[{"title": "Buy milk"}]']
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "AI_KEY", API_KEY)
    final = flows.run(
        f"""
id: ai-news-and-tasks
namespace: company.team
tasks:
  - id: chat_completion
    type: io.kestra.plugin.perplexity.ChatCompletion
    apiKey: "{{{{ secret('AI_KEY') }}}}"
    model: sonar
    messages:
      - type: USER
        content: "Compile the most important news for today in Berlin."
    temperature: 0.7
  - id: generate_tasks
    type: io.kestra.plugin.deepseek.ChatCompletion
    apiKey: "{{{{ secret('AI_KEY') }}}}"
    modelName: deepseek-chat
    baseUrl: {compatible.base_url}
    messages:
      - type: SYSTEM
        content: Return any user message as tasks in JSON.
      - type: USER
        content: "{{{{ outputs.chat_completion.outputText }}}}"
    jsonResponseSchema: |
      {{"type": "object", "properties": {{"tasks": {{"type": "array"}}}}}}
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    news, tasks = compatible.requests
    assert news["model"] == "sonar" and news["temperature"] == 0.7
    assert news["top_p"] == 0.9 and news["top_k"] == 0
    assert tasks["response_format"] == {"type": "json_object"}
    assert tasks["messages"][0]["content"].startswith("You must output valid JSON only")
    assert tasks["messages"][2] == {"role": "user", "content": "- Berlin news"}
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["chat_completion"]["outputText"] == "- Berlin news"
    assert json.loads(outputs["generate_tasks"]["response"]) == {"tasks": [{"title": "Buy milk"}]}


def test_a_refused_key_fails_with_the_api_message(flows: Flows, anthropic: AnthropicDouble) -> None:
    final = flows.run(
        """
id: refused
namespace: company.team
tasks:
  - id: ask
    type: io.kestra.plugin.anthropic.ChatCompletion
    apiKey: sk-ant-wrong-key-123
    model: claude-sonnet-4-5
    messages:
      - type: USER
        content: hello
"""
    )
    assert final.state is State.FAILED
    errors = "\n".join(flows.logs(final, "ERROR"))
    assert "Anthropic API error 401: invalid x-api-key" in errors
    assert "sk-ant-wrong-key-123" not in errors


class HuggingFaceDouble(ServiceDouble):
    """``POST /models/{owner}/{model}``: a zero-shot classification, labels best first."""

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != "Bearer hf_test_token":
            return Reply(401, {"error": "Invalid credentials in Authorization header"})
        if request.path != "/models/facebook/bart-large-mnli":
            return Reply(404, {"error": "Model not found"})
        labels = request.body["parameters"]["candidate_labels"]
        ranked = sorted(labels, key=lambda label: label != "warranty")
        scores = [0.9] + [0.1 / (len(labels) - 1)] * (len(labels) - 1)
        return Reply(200, {"sequence": request.body["inputs"], "labels": ranked, "scores": scores})


def test_huggingface_classifies_a_message(flows: Flows) -> None:
    with HuggingFaceDouble() as double:
        final = flows.run(
            f"""
id: classify-customer-message
namespace: company.team
tasks:
  - id: classification
    type: io.kestra.plugin.huggingface.Inference
    endpoint: {double.url}/models
    model: facebook/bart-large-mnli
    apiKey: hf_test_token
    inputs: "My blender broke after two weeks, is it covered?"
    parameters:
      candidate_labels: [support, warranty, upsell, help]
  - id: category
    type: io.kestra.plugin.core.log.Log
    message: "category={{{{ outputs.classification.output.labels[0] }}}}"
"""
        )
        assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
        (sent,) = double.requests_to("POST", "/models/facebook/bart-large-mnli")
    assert sent.headers["x-use-cache"] == "true" and sent.headers["x-wait-for-model"] == "false"
    assert "category=warranty" in flows.logs(final)
