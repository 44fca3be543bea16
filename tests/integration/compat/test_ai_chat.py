"""``completion.ChatCompletion`` with a JSON response format on Mistral (a provider filled in by
plugin defaults), an agent's KV memory across two tasks, the ``tool.KestraTask`` tool,
``rag.ChatCompletion``, and kestra-io/blueprints' ``ai-gdpr-privacy-policy-analyzer`` (a Mistral
agent grounded by Tavily's search), against local doubles of the OpenAI-compatible and Tavily
APIs, and a Claude agent's tool call through a double of Anthropic's Messages API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.anthropic import API_KEY as ANTHROPIC_KEY
from tests.doubles.anthropic import AnthropicDouble
from tests.doubles.openai import API_KEY, OpenAIDouble
from tests.doubles.tavily import API_KEY as TAVILY_KEY
from tests.doubles.tavily import TavilyDouble
from tests.integration.compat.conftest import Flows


@pytest.fixture
def compatible(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIDouble]:
    with OpenAIDouble() as double:
        monkeypatch.setenv("OPENAI_BASE_URL", double.base_url)
        monkeypatch.setenv("MISTRAL_BASE_URL", double.base_url)
        yield double


@pytest.fixture
def tavily(monkeypatch: pytest.MonkeyPatch) -> Iterator[TavilyDouble]:
    with TavilyDouble() as double:
        monkeypatch.setenv("TAVILY_BASE_URL", double.url)
        yield double


def test_chat_completion_answers_json_with_the_schema_and_plugin_defaults(
    flows: Flows, compatible: OpenAIDouble
) -> None:
    compatible.replies = ['{"category": "ACCOUNT", "priority": "HIGH"}']
    final = flows.run(
        f"""
id: classify
namespace: company.ai
tasks:
  - id: classify
    type: io.kestra.plugin.ai.completion.ChatCompletion
    provider:
      type: io.kestra.plugin.ai.provider.MistralAI
    configuration:
      temperature: 0.0
      maxToken: 64
      responseFormat:
        type: JSON
        jsonSchema:
          type: object
          required: [category, priority]
          properties:
            category: {{type: string, enum: [ACCOUNT, BILLING]}}
            priority: {{type: string}}
    messages:
      - type: SYSTEM
        content: Return only JSON.
      - type: USER
        content: I can't log into my account.
pluginDefaults:
  - type: io.kestra.plugin.ai.provider.MistralAI
    values:
      apiKey: {API_KEY}
      modelName: mistral-large-2512
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (body,) = compatible.requests
    assert body["model"] == "mistral-large-2512"
    assert body["temperature"] == 0.0 and body["max_tokens"] == 64
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["category", "priority"]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    (run,) = final.task_runs
    assert run.outputs["jsonOutput"] == {"category": "ACCOUNT", "priority": "HIGH"}
    assert run.outputs["textOutput"] is None and run.outputs["aiResponse"] is None


def test_agents_sharing_a_kv_memory_see_the_earlier_exchange(
    flows: Flows, compatible: OpenAIDouble
) -> None:
    compatible.replies = ["Nice to meet you, John.", "You are John from New York."]
    final = flows.run(
        f"""
id: agent_with_memory
namespace: company.ai
tasks:
  - id: first_agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: Hi, my name is John and I live in New York!
  - id: second_agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: What's my name and where do I live?
pluginDefaults:
  - type: io.kestra.plugin.ai.agent.AIAgent
    values:
      provider:
        type: io.kestra.plugin.ai.provider.OpenAI
        apiKey: {API_KEY}
        modelName: gpt-5-mini
      memory:
        type: io.kestra.plugin.ai.memory.KestraKVStore
        memoryId: JOHN
        ttl: PT1M
        messages: 5
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    _, second = compatible.requests
    assert second["messages"] == [
        {"role": "user", "content": "Hi, my name is John and I live in New York!"},
        {"role": "assistant", "content": "Nice to meet you, John."},
        {"role": "user", "content": "What's my name and where do I live?"},
    ]
    with flows.store.unit() as repos:
        kept = repos.kv.read_kv("company.ai", "JOHN")
    assert kept is not None and kept.expires is not None


def test_a_kestra_task_tool_runs_with_what_the_model_gives(
    flows: Flows, compatible: OpenAIDouble
) -> None:
    compatible.replies = [
        {"tool_calls": [{"name": "kestra_task_greet", "arguments": {"format": "Hello, Ada"}}]},
        "Done: Hello, Ada",
    ]
    final = flows.run(
        f"""
id: agent-with-task
namespace: company.ai
tasks:
  - id: agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: Greet Ada.
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      apiKey: {API_KEY}
      modelName: gpt-5-mini
    tools:
      - type: io.kestra.plugin.ai.tool.KestraTask
        tasks:
          - id: greet
            type: io.kestra.plugin.core.debug.Return
            format: "..."
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    first, second = compatible.requests
    (tool,) = first["tools"]
    assert tool["function"]["name"] == "kestra_task_greet"
    assert tool["function"]["parameters"]["required"] == ["format"]
    assert second["messages"][-1]["content"] == '{"value": "Hello, Ada"}'
    (run,) = final.task_runs
    assert run.outputs["toolExecutions"][0]["result"] == '{"value": "Hello, Ada"}'


def test_rag_chat_completion_answers_from_the_store_the_flow_filled(
    flows: Flows, compatible: OpenAIDouble
) -> None:
    compatible.replies = ["Weir runs Kestra flows."]
    final = flows.run(
        f"""
id: rag
namespace: company.ai
tasks:
  - id: ingest
    type: io.kestra.plugin.ai.rag.IngestDocument
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      modelName: text-embedding-3-small
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    drop: true
    fromDocuments:
      - content: Weir runs Kestra flows declared in YAML.
      - content: Bananas are yellow fruit.
  - id: chat
    type: io.kestra.plugin.ai.rag.ChatCompletion
    chatProvider:
      type: io.kestra.plugin.ai.provider.OpenAI
      modelName: gpt-5-mini
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    contentRetrieverConfiguration:
      maxResults: 1
    systemMessage: Answer from the documents.
    prompt: What does Weir run?
pluginDefaults:
  - type: io.kestra.plugin.ai.provider.OpenAI
    values:
      apiKey: {API_KEY}
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (body,) = compatible.requests
    assert body["model"] == "gpt-5-mini"
    assert body["messages"][1]["content"] == (
        "What does Weir run?\n\nAnswer using the following information:\n"
        "Weir runs Kestra flows declared in YAML."
    )
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["chat"]["completion"] == "Weir runs Kestra flows."
    assert outputs["chat"]["sources"] == [
        {"content": "Weir runs Kestra flows declared in YAML.", "metadata": {"index": "0"}}
    ]


PRIVACY_BLUEPRINT = """
id: ai-gdpr-privacy-policy-analyzer
namespace: company.legal

inputs:
  - id: privacy_policy_url
    type: STRING
    defaults: https://example.com/privacy-policy
  - id: analysis_scope
    type: SELECT
    defaults: Full compliance review
    values:
      - Full compliance review
      - Cookie and consent focus (ePrivacy)

tasks:
  - id: analyze_policy
    type: io.kestra.plugin.ai.agent.AIAgent
    description: Fetch and analyze privacy policy for GDPR compliance
    provider:
      type: io.kestra.plugin.ai.provider.MistralAI
    configuration:
      temperature: 0.1
      maxToken: 6144
    contentRetrievers:
      - type: io.kestra.plugin.ai.retriever.TavilyWebSearch
        maxResults: 5
    systemMessage: |
      You are a GDPR and ePrivacy compliance specialist analyzing
      privacy policies and cookie notices for legal compliance.
    prompt: |
      PRIVACY POLICY URL: {{ inputs.privacy_policy_url }}
      ANALYSIS SCOPE: {{ inputs.analysis_scope }}

  - id: log_analysis
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.analyze_policy.textOutput }}"

pluginDefaults:
  - type: io.kestra.plugin.ai.provider.MistralAI
    values:
      apiKey: "{{ secret('MISTRAL_API_KEY') }}"
      modelName: mistral-large-2512
  - type: io.kestra.plugin.ai.retriever.TavilyWebSearch
    values:
      apiKey: "{{ secret('TAVILY_API_KEY') }}"
"""


def test_privacy_blueprint_grounds_the_mistral_agent_in_a_tavily_search(
    flows: Flows, compatible: OpenAIDouble, tavily: TavilyDouble
) -> None:
    compatible.replies = ["Overall rating: B"]
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.legal", "MISTRAL_API_KEY", API_KEY)
        repos.secrets.update_secret("company.legal", "TAVILY_API_KEY", TAVILY_KEY)
    final = flows.run(PRIVACY_BLUEPRINT)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (search,) = tavily.requests_to("POST", "/search")
    assert search.body["max_results"] == 5
    assert search.body["query"].startswith("PRIVACY POLICY URL: https://example.com/privacy-policy")
    (body,) = compatible.requests
    assert body["model"] == "mistral-large-2512" and body["max_tokens"] == 6144
    prompt = body["messages"][1]["content"]
    assert "\n\nAnswer using the following information:\nKestra 1.1\nRelease notes found" in prompt
    (run, _) = final.task_runs
    assert run.outputs["sources"][0]["metadata"]["url"] == "https://kestra.io/blogs/release-1-1"
    assert "Overall rating: B" in flows.logs(final, "INFO")


def test_a_tool_the_task_does_not_give_fails_the_agent(
    flows: Flows, compatible: OpenAIDouble
) -> None:
    compatible.replies = [{"tool_calls": [{"name": "drop_database", "arguments": {}}]}]
    final = flows.run(
        f"""
id: agent-without-tools
namespace: company.ai
tasks:
  - id: agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: Clean up.
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      apiKey: {API_KEY}
      modelName: gpt-5-mini
"""
    )
    assert final.state is State.FAILED
    assert (
        "the model called tool drop_database, which the task does not give it (its tools: none)"
        in flows.logs(final, "ERROR")
    )


def test_a_claude_agent_calls_a_tool_through_the_messages_api(
    flows: Flows, tavily: TavilyDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AnthropicDouble() as claude:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
        claude.replies = [
            {"tool_use": {"name": "searchWeb", "input": {"query": "Kestra 1.1"}}},
            "Kestra 1.1 brought new features.",
        ]
        final = flows.run(
            f"""
id: claude-agent
namespace: company.ai
tasks:
  - id: agent
    type: io.kestra.plugin.ai.agent.AIAgent
    systemMessage: You research releases.
    prompt: What is new in Kestra 1.1?
    provider:
      type: io.kestra.plugin.ai.provider.Anthropic
      apiKey: {ANTHROPIC_KEY}
      modelName: claude-sonnet-4-5
    tools:
      - type: io.kestra.plugin.ai.tool.TavilyWebSearch
        apiKey: {TAVILY_KEY}
"""
        )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    first, second = claude.bodies
    assert first["system"] == "You research releases." and first["max_tokens"] == 1024
    assert first["tools"][0]["name"] == "searchWeb"
    assert first["tools"][0]["input_schema"]["required"] == ["query"]
    asked, answered = second["messages"][1:]
    assert asked == {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "searchWeb",
                "input": {"query": "Kestra 1.1"},
            }
        ],
    }
    (result,) = answered["content"]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_1"
    assert "Release notes found for Kestra 1.1" in result["content"]
    (run,) = final.task_runs
    assert run.outputs["textOutput"] == "Kestra 1.1 brought new features."
    assert run.outputs["finishReason"] == "STOP"
    assert run.outputs["intermediateResponses"][0]["finishReason"] == "TOOL_EXECUTION"
