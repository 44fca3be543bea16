"""Kestra's AI tasks against local doubles of OpenAI's and Gemini's APIs, on kestra-io/
blueprints' flows: ``ai-rag-ingest-and-query`` (ingest a document into the KV embedding store,
then an agent answers from what the store finds), ``agent-text-summarizer`` (two chained
agents on Gemini) and ``vertex-ai-gemini-rag-ingestion``; and an agent's tool-calling round
trip with Tavily's web search."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from controlplane.engine.model import State
from controlplane.spec.validate import validate_text
from tests.doubles.gemini import API_KEY as GEMINI_KEY
from tests.doubles.gemini import GeminiDouble
from tests.doubles.openai import API_KEY, OpenAIDouble
from tests.doubles.tavily import API_KEY as TAVILY_KEY
from tests.doubles.tavily import TavilyDouble
from tests.integration.compat.conftest import Flows

KESTRA_README = b"""# Kestra

Kestra is an open-source orchestration platform. Flows are declared in YAML.

Kestra schedules flows and runs them with retries, and keeps their logs and outputs.

The weather in Paris is unrelated to orchestration and mostly rainy in November.
"""


@pytest.fixture
def openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIDouble]:
    with OpenAIDouble() as double:
        monkeypatch.setenv("OPENAI_BASE_URL", double.base_url)
        yield double


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiDouble]:
    with GeminiDouble() as double:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", double.base_url)
        yield double


@pytest.fixture
def tavily(monkeypatch: pytest.MonkeyPatch) -> Iterator[TavilyDouble]:
    with TavilyDouble() as double:
        monkeypatch.setenv("TAVILY_BASE_URL", double.url)
        yield double


RAG_BLUEPRINT = """
id: ai-rag-ingest-and-query
namespace: company.team

inputs:
  - id: document_urls
    type: ARRAY
    itemType: STRING
    displayName: Document URLs to ingest
    defaults:
      - "https://raw.githubusercontent.com/kestra-io/kestra/develop/README.md"
  - id: question
    type: STRING
    displayName: Question
    defaults: "What is Kestra and what are its main capabilities?"

tasks:
  - id: ingest_documents
    type: io.kestra.plugin.ai.rag.IngestDocument
    fromExternalURLs: "{{ inputs.document_urls }}"
    drop: true
    documentSplitter:
      splitter: RECURSIVE
      maxSegmentSizeInChars: 100
      maxOverlapSizeInChars: 20
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      apiKey: "{{ secret('OPENAI_API_KEY') }}"
      modelName: text-embedding-3-small
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore

  - id: answer_question
    type: io.kestra.plugin.ai.agent.AIAgent
    systemMessage: |
      You are a knowledgeable assistant. Answer the user's question using only
      the information retrieved from the indexed documents.
    prompt: "{{ inputs.question }}"
    contentRetrievers:
      - type: io.kestra.plugin.ai.retriever.EmbeddingStoreRetriever
        embeddings:
          type: io.kestra.plugin.ai.embeddings.KestraKVStore
        embeddingProvider:
          type: io.kestra.plugin.ai.provider.OpenAI
          apiKey: "{{ secret('OPENAI_API_KEY') }}"
          modelName: text-embedding-3-small
        maxResults: 1
        minScore: 0.6
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      apiKey: "{{ secret('OPENAI_API_KEY') }}"
      modelName: gpt-4o

  - id: log_answer
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.answer_question.textOutput }}"
"""


def test_rag_blueprint_ingests_a_document_and_answers_from_what_the_store_finds(
    flows: Flows, openai: OpenAIDouble, serve: Callable[[dict[str, bytes]], str]
) -> None:
    base = serve({"/README.md": KESTRA_README})
    openai.replies = ["Kestra is an open-source orchestration platform."]
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "OPENAI_API_KEY", API_KEY)
    final = flows.run(
        RAG_BLUEPRINT,
        {"document_urls": [f"{base}/README.md"], "question": "What does Kestra orchestrate?"},
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    ingest = outputs["ingest_documents"]
    assert ingest["ingestedDocuments"] == 1
    assert ingest["embeddingStoreOutputs"] == {"kvName": "ai-rag-ingest-and-query-embedding-store"}
    segments = openai.embedded[:-1]  # the last text embedded is the question
    assert len(segments) == 3 and all(len(s) <= 100 for s in segments)
    assert openai.embedded[-1] == "What does Kestra orchestrate?"
    with flows.store.unit() as repos:
        stored = repos.kv.read_kv("company.team", "ai-rag-ingest-and-query-embedding-store")
    assert stored is not None
    assert [e["embedded"]["text"] for e in json.loads(stored.value)["entries"]] == segments
    (chat,) = openai.requests
    system, user = chat["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert user["content"].startswith(
        "What does Kestra orchestrate?\n\nAnswer using the following information:\n"
    )
    assert "Kestra is an open-source orchestration platform" in user["content"]
    assert "rainy" not in user["content"]  # the nearest segment only (maxResults: 1)
    answer = outputs["answer_question"]
    assert answer["textOutput"] == "Kestra is an open-source orchestration platform."
    assert answer["finishReason"] == "STOP" and answer["toolExecutions"] == []
    assert answer["sources"][0]["metadata"]["url"] == f"{base}/README.md"
    assert answer["tokenUsage"]["outputTokenCount"] == 6
    assert "Kestra is an open-source orchestration platform." in flows.logs(final, "INFO")


def test_an_agent_calls_a_tool_and_answers_with_its_result(
    flows: Flows, openai: OpenAIDouble, tavily: TavilyDouble
) -> None:
    openai.replies = [
        {"tool_calls": [{"name": "searchWeb", "arguments": {"query": "latest Kestra release"}}]},
        "Kestra 1.1 is the latest release.",
    ]
    final = flows.run(
        f"""
id: agent-with-web-search
namespace: company.ai
tasks:
  - id: agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: What is the latest Kestra release?
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      apiKey: {API_KEY}
      modelName: gpt-5-mini
    configuration:
      temperature: 0.2
      maxToken: 256
    tools:
      - type: io.kestra.plugin.ai.tool.TavilyWebSearch
        apiKey: {TAVILY_KEY}
  - id: uri
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ (outputs.agent.toolExecutions | first).requestArguments.query }}}}"
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    first, second = openai.requests
    (tool,) = first["tools"]
    assert tool["function"]["name"] == "searchWeb" and first["temperature"] == 0.2
    assert first["max_completion_tokens"] == 256 and "max_tokens" not in first
    call, result = second["messages"][-2:]
    assert call["tool_calls"][0]["function"]["name"] == "searchWeb"
    assert result["role"] == "tool" and result["tool_call_id"] == call["tool_calls"][0]["id"]
    assert "Release notes found for latest Kestra release" in result["content"]
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    agent = outputs["agent"]
    assert agent["textOutput"] == "Kestra 1.1 is the latest release."
    (execution,) = agent["toolExecutions"]
    assert execution["requestName"] == "searchWeb"
    assert execution["result"] == result["content"]
    assert agent["intermediateResponses"][0]["finishReason"] == "TOOL_EXECUTION"
    assert agent["finishReason"] == "STOP"
    assert outputs["uri"]["value"] == "latest Kestra release"


SUMMARIZER_BLUEPRINT = """
id: agent-text-summarizer
namespace: company.ai

inputs:
  - id: summary_length
    type: SELECT
    defaults: medium
    values: [short, medium, long]
  - id: language
    type: SELECT
    defaults: en
    values: [en, fr, de]
  - id: text
    type: STRING
    defaults: Kestra is an open-source orchestration platform.

tasks:
  - id: multilingual_agent
    type: io.kestra.plugin.ai.agent.AIAgent
    systemMessage: |
      You are a precise technical assistant.
      Produce a {{ inputs.summary_length }} summary in {{ inputs.language }}.
    prompt: |
      Summarize the following content: {{ inputs.text }}

  - id: english_brevity
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: Generate exactly 1 sentence English summary of "{{ outputs.multilingual_agent.textOutput }}"

pluginDefaults:
  - type: io.kestra.plugin.ai.agent.AIAgent
    values:
      provider:
        type: io.kestra.plugin.ai.provider.GoogleGemini
        modelName: gemini-2.5-flash
        apiKey: "{{ kv('GEMINI_API_KEY') }}"
        configuration:
          logRequests: true
          logResponses: true
          responseFormat:
            type: TEXT
"""


def test_summarizer_blueprint_chains_two_gemini_agents(flows: Flows, gemini: GeminiDouble) -> None:
    gemini.replies = ["Kestra orchestrates flows.", "Kestra runs flows."]
    with flows.store.unit() as repos:
        repos.kv.update_kv("company.ai", "GEMINI_API_KEY", GEMINI_KEY, "STRING", None)
    final = flows.run(SUMMARIZER_BLUEPRINT, {"summary_length": "short", "language": "fr"})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    first, second = gemini.requests
    assert first["systemInstruction"]["parts"][0]["text"].startswith(
        "You are a precise technical assistant.\nProduce a short summary in fr."
    )
    assert first["contents"] == [{"role": "user", "parts": [{
        "text": "Summarize the following content: Kestra is an open-source orchestration "
                "platform.\n"}]}]  # fmt: skip
    assert first["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 0
    assert "systemInstruction" not in second
    assert second["contents"][0]["parts"][0]["text"] == (
        'Generate exactly 1 sentence English summary of "Kestra orchestrates flows."'
    )
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["english_brevity"]["textOutput"] == "Kestra runs flows."
    assert outputs["english_brevity"]["tokenUsage"]["outputTokenCount"] == 3
    logged = "\n".join(flows.logs(final, "INFO"))
    assert "Gemini request:" in logged and "Gemini response:" in logged
    assert GEMINI_KEY not in logged


def test_gemini_ingestion_splits_at_paragraphs_into_the_kv_store(
    flows: Flows, gemini: GeminiDouble, serve: Callable[[dict[str, bytes]], str]
) -> None:
    paragraphs = [f"Paragraph {n} of the release notes." for n in range(4)]
    base = serve({"/index.md": "\n\n".join(paragraphs).encode()})
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "GEMINI_API_KEY", GEMINI_KEY)
    final = flows.run(
        f"""
id: vertex-ai-gemini-rag-ingestion
namespace: company.team
tasks:
  - id: ingest
    type: io.kestra.plugin.ai.rag.IngestDocument
    provider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-embedding-001
      apiKey: "{{{{ secret('GEMINI_API_KEY') }}}}"
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    drop: true
    documentSplitter:
      splitter: PARAGRAPH
      maxSegmentSizeInChars: 80
      maxOverlapSizeInChars: 0
    fromExternalURLs:
      - {base}/index.md
    fromDocuments:
      - content: An inline document.
        metadata:
          source: inline
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert gemini.embedded == [
        "An inline document.",
        "\n\n".join(paragraphs[:2]),
        "\n\n".join(paragraphs[2:]),
    ]
    (run,) = final.task_runs
    assert run.outputs["ingestedDocuments"] == 2
    with flows.store.unit() as repos:
        stored = repos.kv.read_kv("company.team", "vertex-ai-gemini-rag-ingestion-embedding-store")
    assert stored is not None
    entries = json.loads(stored.value)["entries"]
    assert entries[0]["embedded"]["metadata"]["metadata"] == {"source": "inline", "index": "0"}
    assert entries[1]["embedded"]["metadata"]["metadata"]["url"] == f"{base}/index.md"


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("tools:\n      - type: io.kestra.plugin.ai.tool.DockerMcpClient\n        image: mcp/time",
         "unknown type 'io.kestra.plugin.ai.tool.DockerMcpClient'"),
        ("contentRetrievers:\n      - type: io.kestra.plugin.ai.retriever.EmbeddingStoreRetriever"
         "\n        embeddingProvider: {type: io.kestra.plugin.ai.provider.OpenAI, apiKey: k, "
         "modelName: m}\n        embeddings: {type: io.kestra.plugin.ai.embeddings.PGVector}",
         "unknown type 'io.kestra.plugin.ai.embeddings.PGVector'"),
    ],
)  # fmt: skip
def test_parts_weir_cannot_run_are_refused_at_validation(part: str, expected: str) -> None:
    result = validate_text(
        f"""
id: agent
namespace: company.ai
tasks:
  - id: agent
    type: io.kestra.plugin.ai.agent.AIAgent
    prompt: hello
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      apiKey: k
      modelName: m
    {part}
"""
    )
    assert not result.ok
    assert any(expected in str(p) for p in result.problems), [str(p) for p in result.problems]


def test_anthropic_has_no_embeddings_and_the_task_says_so(flows: Flows) -> None:
    final = flows.run(
        """
id: ingest-with-claude
namespace: company.ai
tasks:
  - id: ingest
    type: io.kestra.plugin.ai.rag.IngestDocument
    provider:
      type: io.kestra.plugin.ai.provider.Anthropic
      apiKey: sk-ant-unused
      modelName: claude-sonnet-4-5
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    fromDocuments:
      - content: A document.
"""
    )
    assert final.state is State.FAILED
    assert "Anthropic has no embedding models: use another provider" in flows.logs(final, "ERROR")
