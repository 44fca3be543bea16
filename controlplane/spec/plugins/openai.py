"""OpenAI (``io.kestra.plugin.openai.*``): chat completions."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynFloat, DynInt, DynStrList, Spec, Text
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
