"""The parts that Kestra's AI tasks (``io.kestra.plugin.ai.*``) are built from: model providers,
the chat configuration, embedding stores, content retrievers, tools and memory.

Each part is a mapping with a ``type`` naming it, as in Kestra; a type Weir does not implement
(a vector database such as ``embeddings.PGVector``, an MCP client tool) is refused at validation
with the types it could be. Each type is also accepted under the older
``io.kestra.plugin.langchain4j`` package. Plugin defaults that name a part's exact type
(``pluginDefaults: - type: io.kestra.plugin.ai.provider.MistralAI``) are merged into every part
of that type, the part's own values winning unless the default is forced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from controlplane.spec.fields import DynBool, DynFloat, DynInt, DynMap, Spec, Text
from controlplane.spec.tasks import Task, merge_defaults


class _PartDefaults:
    """Merges the flow's plugin defaults for the part's exact type before it is validated."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_before_validator_function(_with_defaults, handler(source))


def _with_defaults(value: Any, info: core_schema.ValidationInfo) -> Any:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return value
    context = info.context
    defaults = context.get("plugin_defaults", ()) if isinstance(context, Mapping) else ()
    for default in defaults:
        if default.type == value["type"]:
            value = merge_defaults(value, default.values, default.forced)
    return value


# -- chat configuration ---------------------------------------------------------------------------


class ResponseFormat(Spec):
    type: Literal["TEXT", "JSON"] | Text = "TEXT"
    jsonSchema: DynMap | None = None
    jsonSchemaDescription: Text | None = None
    strictJson: DynBool = False


class ChatConfiguration(Spec):
    temperature: DynFloat | None = None
    topK: DynInt | None = None
    topP: DynFloat | None = None
    seed: DynInt | None = None
    logRequests: DynBool | None = None
    logResponses: DynBool | None = None
    responseFormat: ResponseFormat | None = None
    thinkingEnabled: DynBool | None = None
    thinkingBudgetTokens: DynInt | None = None
    returnThinking: DynBool | None = None
    maxToken: DynInt | None = None
    promptCaching: DynBool | None = None


# -- providers ------------------------------------------------------------------------------------


class _Provider(Spec):
    modelName: Text
    baseUrl: Text | None = None
    configuration: ChatConfiguration | None = None
    """Chat settings given with the provider (as some blueprints do); the task's own
    ``configuration`` wins for each setting both give."""


class OpenAIProvider(_Provider):
    """OpenAI's API (``baseUrl`` default ``https://api.openai.com/v1``, else
    ``OPENAI_BASE_URL`` of the worker's environment)."""

    type: Literal[
        "io.kestra.plugin.ai.provider.OpenAI", "io.kestra.plugin.langchain4j.provider.OpenAI"
    ]
    apiKey: Text


class DeepSeekProvider(_Provider):
    type: Literal[
        "io.kestra.plugin.ai.provider.DeepSeek", "io.kestra.plugin.langchain4j.provider.DeepSeek"
    ]
    apiKey: Text


class MistralAIProvider(_Provider):
    """Mistral's API (``https://api.mistral.ai/v1``, else ``MISTRAL_BASE_URL``)."""

    type: Literal[
        "io.kestra.plugin.ai.provider.MistralAI", "io.kestra.plugin.langchain4j.provider.MistralAI"
    ]
    apiKey: Text


class OllamaProvider(_Provider):
    """An Ollama server at ``endpoint``, through its OpenAI-compatible API (``/v1``)."""

    type: Literal[
        "io.kestra.plugin.ai.provider.Ollama", "io.kestra.plugin.langchain4j.provider.Ollama"
    ]
    endpoint: Text


class GeminiEmbeddingConfiguration(Spec):
    titleMetadataKey: Text | None = None
    taskType: Text | None = None
    maxRetries: DynInt | None = None
    timeout: Text | None = None
    outputDimensionality: DynInt | None = None


class GoogleGeminiProvider(_Provider):
    """Google's Gemini API (``https://generativelanguage.googleapis.com/v1beta``, else
    ``GOOGLE_GEMINI_BASE_URL``); the key goes in the ``x-goog-api-key`` header."""

    type: Literal[
        "io.kestra.plugin.ai.provider.GoogleGemini",
        "io.kestra.plugin.langchain4j.provider.GoogleGemini",
    ]
    apiKey: Text | None = None
    embeddingModelConfiguration: GeminiEmbeddingConfiguration | None = None


class AnthropicProvider(_Provider):
    """Anthropic's Messages API (``https://api.anthropic.com/v1``, else
    ``ANTHROPIC_BASE_URL``). It has no embeddings."""

    type: Literal[
        "io.kestra.plugin.ai.provider.Anthropic", "io.kestra.plugin.langchain4j.provider.Anthropic"
    ]
    apiKey: Text
    maxTokens: DynInt | None = None


Provider = Annotated[
    OpenAIProvider
    | DeepSeekProvider
    | MistralAIProvider
    | OllamaProvider
    | GoogleGeminiProvider
    | AnthropicProvider,
    Field(discriminator="type"),
    _PartDefaults(),
]


# -- embedding stores ----------------------------------------------------------------------------


class KestraKVEmbeddings(Spec):
    """Embeddings kept as one KV pair of the flow's namespace (``kvName``): for small sets, as
    every vector is read for each search."""

    type: Literal[
        "io.kestra.plugin.ai.embeddings.KestraKVStore",
        "io.kestra.plugin.langchain4j.embeddings.KestraKVStore",
    ]
    kvName: Text = "{{ flow.id }}-embedding-store"


EmbeddingStore = Annotated[KestraKVEmbeddings, Field(discriminator="type"), _PartDefaults()]


# -- content retrievers --------------------------------------------------------------------------


class EmbeddingStoreRetriever(Spec):
    type: Literal[
        "io.kestra.plugin.ai.retriever.EmbeddingStoreRetriever",
        "io.kestra.plugin.langchain4j.retriever.EmbeddingStoreRetriever",
    ]
    embeddings: EmbeddingStore
    embeddingProvider: Provider
    maxResults: DynInt = 3
    minScore: DynFloat = 0.0


class TavilyRetriever(Spec):
    """Tavily's search API (``https://api.tavily.com``, else ``TAVILY_BASE_URL``)."""

    type: Literal[
        "io.kestra.plugin.ai.retriever.TavilyWebSearch",
        "io.kestra.plugin.langchain4j.retriever.TavilyWebSearch",
    ]
    apiKey: Text
    maxResults: DynInt = 3


ContentRetriever = Annotated[
    EmbeddingStoreRetriever | TavilyRetriever, Field(discriminator="type"), _PartDefaults()
]


# -- tools ---------------------------------------------------------------------------------------


class KestraFlowAuth(Spec):
    apiToken: Text | None = None
    username: Text | None = None
    password: Text | None = None
    auto: DynBool = True


class KestraFlowTool(Spec):
    """Starts a flow through the API (``kestraUrl``, else ``WEIR_URL`` of the worker's
    environment, else ``http://127.0.0.1:8080``): the one flow named by ``namespace`` and
    ``flowId`` (tool ``kestra_flow_<namespace>_<flowId>``), or the one the model names (tool
    ``kestra_flow``). The tool's result is the execution as the API answers it."""

    type: Literal[
        "io.kestra.plugin.ai.tool.KestraFlow", "io.kestra.plugin.langchain4j.tool.KestraFlow"
    ]
    description: Text | None = None
    namespace: Text | None = None
    flowId: Text | None = None
    revision: DynInt | None = None
    inputs: dict[str, Any] | None = None
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    inheritLabels: DynBool = False
    scheduleDate: Text | None = None
    kestraUrl: Text | None = None
    auth: KestraFlowAuth | None = None
    tenantId: Text | None = None


class KestraTaskTool(Spec):
    """Each runnable task of ``tasks`` as a tool ``kestra_task_<id>``: the properties set stay
    fixed, a property set to ``...`` is the model's to give."""

    type: Literal[
        "io.kestra.plugin.ai.tool.KestraTask", "io.kestra.plugin.langchain4j.tool.KestraTask"
    ]
    tasks: list[Task]


class TavilyTool(Spec):
    type: Literal[
        "io.kestra.plugin.ai.tool.TavilyWebSearch",
        "io.kestra.plugin.langchain4j.tool.TavilyWebSearch",
    ]
    apiKey: Text


Tool = Annotated[
    KestraFlowTool | KestraTaskTool | TavilyTool, Field(discriminator="type"), _PartDefaults()
]


# -- memory --------------------------------------------------------------------------------------


class KestraKVMemory(Spec):
    """The conversation kept as a KV pair (``memoryId``) of the flow's namespace for ``ttl``."""

    type: Literal[
        "io.kestra.plugin.ai.memory.KestraKVStore",
        "io.kestra.plugin.ai.memory.KestraKVMemory",
        "io.kestra.plugin.langchain4j.memory.KestraKVMemory",
    ]
    messages: DynInt = 10
    ttl: Text = "PT1H"
    memoryId: Text = "{{ labels.system.correlationId }}"
    drop: Literal["NEVER", "BEFORE_TASKRUN", "AFTER_TASKRUN"] | Text = "NEVER"


Memory = Annotated[KestraKVMemory, Field(discriminator="type"), _PartDefaults()]
