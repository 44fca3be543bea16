"""OpenAI (``io.kestra.plugin.openai.*``): chat completions, responses and images."""

from __future__ import annotations

from typing import Any, Literal

from controlplane.spec.fields import DynBool, DynFloat, DynInt, DynMap, DynStrList, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class ChatMessage(Spec):
    role: Text
    content: Text | None = None
    name: Text | None = None


@task("io.kestra.plugin.openai.ChatCompletion")
class ChatCompletion(TaskSpec):
    apiKey: Text
    model: Text
    user: Text | None = None
    clientTimeout: DynInt = 10
    """Seconds."""
    messages: list[ChatMessage] | Text | None = None
    prompt: Text | None = None
    temperature: DynFloat | None = None
    topP: DynFloat | None = None
    n: DynInt | None = None
    stop: DynStrList | None = None
    maxTokens: DynInt | None = None
    presencePenalty: DynFloat | None = None
    frequencyPenalty: DynFloat | None = None
    logitBias: dict[str, int] | None = None
    functions: list[dict[str, Any]] | None = None
    functionName: Text | None = None
    functionCall: Text | None = None
    jsonResponseSchema: Text | None = None


@task("io.kestra.plugin.openai.Responses")
class Responses(TaskSpec):
    """The Responses API (``POST /responses``): ``input`` is a text, or a list (or JSON text) of
    ``{role, content}`` messages. Outputs ``responseId``, ``outputText``, ``sources`` (the URLs
    cited) and ``rawResponse``."""

    apiKey: Text
    model: Text
    input: Any
    user: Text | None = None
    clientTimeout: DynInt = 10
    text: DynMap | None = None
    tools: list[dict[str, Any]] | Text | None = None
    toolChoice: Literal["NONE", "AUTO", "REQUIRED"] = "AUTO"
    store: DynBool = True
    previousResponseId: Text | None = None
    promptId: Text | None = None
    promptVariables: DynMap | None = None
    reasoning: DynMap | None = None
    maxOutputTokens: DynInt | None = None
    temperature: DynFloat = 1.0
    topP: DynFloat | None = None
    parallelToolCalls: DynBool | None = None
    promptCaching: DynBool = False


@task("io.kestra.plugin.openai.CreateImage")
class CreateImage(TaskSpec):
    """Images from ``prompt`` (``POST /images/generations``). Output ``images``: the URLs the API
    gives, or, for images it returns inline (base64), their files in internal storage."""

    apiKey: Text
    prompt: Text
    n: int | None = None
    size: Literal["SMALL", "MEDIUM", "LARGE"] = "LARGE"
    model: Text = "gpt-image-1"
    quality: Literal["AUTO", "LOW", "MEDIUM", "HIGH"] | None = None
    download: DynBool = False
    user: Text | None = None
    clientTimeout: DynInt = 10
