"""Kestra's AI tasks (``io.kestra.plugin.ai.*``): the agent, chat completions (plain and with
retrieval) and document ingestion into an embedding store, built from the parts of
:mod:`controlplane.spec.plugins.ai`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynMap, DynStrList, Spec, Text
from controlplane.spec.plugins.ai import (
    ChatConfiguration,
    ContentRetriever,
    EmbeddingStore,
    Memory,
    Provider,
    Tool,
)
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


@task("io.kestra.plugin.ai.agent.AIAgent")
class AIAgent(TaskSpec):
    """``prompt`` (after ``systemMessage``) to the ``provider``'s model, which may call
    ``tools`` until it answers; ``contentRetrievers`` add their findings to the prompt first.
    Outputs ``textOutput`` (or ``jsonOutput`` with a JSON response format), ``toolExecutions``,
    ``intermediateResponses``, ``tokenUsage``, ``finishReason``, ``sources`` and
    ``outputFiles``."""

    prompt: Text
    systemMessage: Text | None = None
    provider: Provider
    configuration: ChatConfiguration = Field(default_factory=ChatConfiguration)
    tools: list[Tool] | None = None
    maxSequentialToolsInvocations: DynInt | None = None
    contentRetrievers: list[ContentRetriever] | None = None
    memory: Memory | None = None
    outputFiles: DynStrList | None = None


class AIChatMessage(Spec):
    type: Literal["SYSTEM", "AI", "USER"] | Text
    content: Text | None = None


@task(
    "io.kestra.plugin.ai.completion.ChatCompletion",
    "io.kestra.plugin.langchain4j.ChatCompletion",
    "io.kestra.plugin.langchain4j.completion.ChatCompletion",
)
class AIChatCompletion(TaskSpec):
    """A conversation (at most one SYSTEM message; the last one USER) answered by the
    ``provider``'s model, which may call ``tools``. Outputs those of ``AIAgent``, and
    ``aiResponse`` (the text, Kestra's older name)."""

    messages: list[AIChatMessage] | Text
    provider: Provider
    configuration: ChatConfiguration = Field(default_factory=ChatConfiguration)
    tools: list[Tool] | None = None


class RetrieverConfiguration(Spec):
    maxResults: int = 3
    minScore: float = 0.0


@task("io.kestra.plugin.ai.rag.ChatCompletion", "io.kestra.plugin.langchain4j.rag.ChatCompletion")
class RagChatCompletion(TaskSpec):
    """``prompt`` answered with what the embedding store (``embeddings``, searched with
    ``embeddingProvider``'s or else ``chatProvider``'s embeddings) and ``contentRetrievers``
    find for it. Outputs those of ``AIAgent``, and ``completion`` (the text, Kestra's older
    name)."""

    prompt: Text
    systemMessage: Text | None = None
    chatProvider: Provider
    embeddingProvider: Provider | None = None
    embeddings: EmbeddingStore | None = None
    chatConfiguration: ChatConfiguration = Field(default_factory=ChatConfiguration)
    contentRetrieverConfiguration: RetrieverConfiguration = Field(
        default_factory=RetrieverConfiguration
    )
    contentRetrievers: list[ContentRetriever] | None = None
    tools: list[Tool] | None = None
    memory: Memory | None = None


class InlineDocument(Spec):
    content: Text
    metadata: DynMap | None = None


class DocumentSplitter(Spec):
    splitter: Literal["RECURSIVE", "PARAGRAPH", "LINE", "SENTENCE", "WORD"] = "RECURSIVE"
    maxSegmentSizeInChars: int = Field(ge=1)
    maxOverlapSizeInChars: int = Field(ge=0)


@task("io.kestra.plugin.ai.rag.IngestDocument", "io.kestra.plugin.langchain4j.rag.IngestDocument")
class IngestDocument(TaskSpec):
    """Documents (files under ``fromPath`` of the working directory, ``fromInternalURIs``,
    ``fromExternalURLs`` read as text, ``fromDocuments``), split by ``documentSplitter``,
    embedded by ``provider`` and added to ``embeddings`` (emptied first with ``drop``). Outputs
    ``ingestedDocuments``, the token counts and ``embeddingStoreOutputs`` (``kvName``)."""

    provider: Provider
    embeddings: EmbeddingStore
    fromPath: Text | None = None
    fromInternalURIs: DynStrList | None = None
    fromExternalURLs: DynStrList | None = None
    fromDocuments: list[InlineDocument] | None = None
    metadata: DynMap | None = None
    documentSplitter: DocumentSplitter | None = None
    drop: DynBool = False
    bulkSize: DynInt = 500
