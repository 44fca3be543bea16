"""Gemini's own tasks against the local double of Gemini's API: a structured answer deciding a
branch, on the shape of kestra-io/blueprints' ``ai-check-weather-gemini``, a multi-turn
chat, and embeddings sent in batches of at most 100 texts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.gemini import API_KEY, GeminiDouble
from tests.integration.compat.conftest import Flows


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiDouble]:
    with GeminiDouble() as double:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", double.base_url)
        yield double


def test_a_structured_answer_decides_the_branch(flows: Flows, gemini: GeminiDouble) -> None:
    gemini.replies = ['{"content": "Go sailing", "wind": 18, "go_sailing": true}']
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "GEMINI_API_KEY", API_KEY)
    final = flows.run(
        """
id: ai-check-weather-gemini
namespace: company.team
tasks:
  - id: ask_ai
    type: io.kestra.plugin.gemini.StructuredOutputCompletion
    apiKey: "{{ secret('GEMINI_API_KEY') }}"
    model: "gemini-2.5-flash-preview-05-20"
    prompt: "I like to go sailing when the wind is above 10 knots. Should I go sailing?"
    jsonResponseSchema: |
      {
        "type": "object",
        "properties": {
          "content": {"type": "string"},
          "wind": {"type": "number"},
          "go_sailing": {"type": "boolean"}
        }
      }
  - id: if
    type: io.kestra.plugin.core.flow.If
    condition: "{{ outputs.ask_ai['predictions'] | first | jq('.go_sailing') | first }}"
    then:
      - id: notify_me
        type: io.kestra.plugin.core.log.Log
        message: "{{ outputs.ask_ai['predictions'] | first | jq('.content') | first }}"
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (body,) = gemini.requests
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["go_sailing"] == {"type": "boolean"}
    assert "thinkingConfig" not in config
    assert "Go sailing" in flows.logs(final, "INFO")


def test_chat_completion_sends_each_message_after_the_answers_before(
    flows: Flows, gemini: GeminiDouble
) -> None:
    gemini.replies = ["Tokyo", "I am Gemini."]
    final = flows.run(
        f"""
id: gemini_chat_completion
namespace: company.team
tasks:
  - id: chat_completion
    type: io.kestra.plugin.gemini.ChatCompletion
    apiKey: {API_KEY}
    model: "gemini-2.5-flash"
    messages:
      - "What is the capital of Japan? Answer with a unique word."
      - "Who are you? Answer concisely."
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    _, second = gemini.requests
    assert second["contents"] == [
        {
            "role": "user",
            "parts": [{"text": "What is the capital of Japan? Answer with a unique word."}],
        },
        {"role": "model", "parts": [{"text": "Tokyo"}]},
        {"role": "user", "parts": [{"text": "Who are you? Answer concisely."}]},
    ]
    (run,) = final.task_runs
    assert [p["content"] for p in run.outputs["predictions"]] == ["Tokyo", "I am Gemini."]


def test_gemini_embeds_at_most_a_hundred_texts_per_request(
    flows: Flows, gemini: GeminiDouble
) -> None:
    documents = "\n".join(f"      - content: Document number {n}." for n in range(101))
    final = flows.run(
        f"""
id: many-documents
namespace: company.team
tasks:
  - id: ingest
    type: io.kestra.plugin.ai.rag.IngestDocument
    provider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-embedding-001
      apiKey: {API_KEY}
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    fromDocuments:
{documents}
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    batches = gemini.requests_to("POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents")
    assert [len(b.body["requests"]) for b in batches] == [100, 1]
    assert final.task_runs[0].outputs["ingestedDocuments"] == 101
