"""Chat completions of the model providers with their own Kestra plugin: Anthropic
(``anthropic.ChatCompletion``), Perplexity (``perplexity.ChatCompletion``) and DeepSeek
(``deepseek.ChatCompletion``), and Hugging Face's Inference API (``huggingface.Inference``).
Messages are ``{type: SYSTEM|USER|ASSISTANT, content}``."""

from __future__ import annotations

from typing import Any, Literal

from controlplane.spec.fields import DynBool, DynFloat, DynInt, DynMap, Spec, Text
from controlplane.spec.plugins.notifications import RequestOptions
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class TypedMessage(Spec):
    type: Literal["SYSTEM", "USER", "ASSISTANT"] | Text = "USER"
    content: Text | None = None


class AnthropicTool(Spec):
    name: Text
    description: Text | None = None
    inputSchema: dict[str, Any] | None = None


@task("io.kestra.plugin.anthropic.ChatCompletion")
class AnthropicChatCompletion(TaskSpec):
    """Claude's Messages API (``POST /v1/messages``). Outputs ``outputText``, ``toolUses``,
    ``stopReason`` and ``rawResponse`` (the answer as JSON text)."""

    apiKey: Text
    model: Text
    messages: list[TypedMessage] | Text
    system: Text | None = None
    maxTokens: DynInt = 1024
    temperature: DynFloat | None = None
    topP: DynFloat | None = None
    topK: DynInt | None = None
    tools: list[AnthropicTool] | None = None
    promptCaching: DynBool = False


@task("io.kestra.plugin.perplexity.ChatCompletion")
class PerplexityChatCompletion(TaskSpec):
    """Perplexity's chat completions (``POST /chat/completions``). Outputs ``outputText`` and
    ``rawResponse`` (the answer as JSON text, its search results included)."""

    apiKey: Text
    model: Text
    messages: list[TypedMessage] | Text
    temperature: DynFloat = 0.2
    topP: DynFloat = 0.9
    topK: DynInt = 0
    stream: DynBool = False
    presencePenalty: DynFloat = 0.0
    frequencyPenalty: DynFloat = 0.0
    maxTokens: DynInt | None = None
    jsonResponseSchema: Text | None = None


@task("io.kestra.plugin.deepseek.ChatCompletion")
class DeepSeekChatCompletion(TaskSpec):
    """DeepSeek's OpenAI-compatible chat completions at ``baseUrl``. With ``jsonResponseSchema``
    the model is told the schema and asked for JSON only (JSON mode). Outputs ``response`` (the
    reply) and ``raw`` (the answer as JSON text)."""

    apiKey: Text
    modelName: Text
    baseUrl: Text = "https://api.deepseek.com/v1"
    messages: list[TypedMessage] | Text
    jsonResponseSchema: Text | None = None


@task("io.kestra.plugin.huggingface.Inference")
class HuggingFaceInference(TaskSpec):
    """A model of Hugging Face's Inference API (``POST {endpoint}/{model}`` with ``inputs`` and
    ``parameters``; ``useCache``, ``waitForModel`` as the API's headers). Output ``output``: the
    model's answer."""

    apiKey: Text
    model: Text
    inputs: Text
    parameters: DynMap | None = None
    endpoint: Text = "https://api-inference.huggingface.co/models"
    useCache: DynBool = True
    waitForModel: DynBool = False
    options: RequestOptions | None = None
