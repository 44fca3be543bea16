"""Gemini's own tasks (``gemini.ChatCompletion``, ``TextCompletion``,
``StructuredOutputCompletion``) over the provider of :mod:`controlplane.tasks.ai.providers`: the
same ``generateContent`` call and address (``GOOGLE_GEMINI_BASE_URL``), without the AI plugin's
thinking settings, as Google's client sends them."""

from __future__ import annotations

import json
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.ai import GoogleGeminiProvider
from controlplane.spec.plugins.gemini import (
    GeminiChatCompletion,
    GeminiStructuredOutputCompletion,
    GeminiTextCompletion,
)
from controlplane.tasks import props
from controlplane.tasks.ai.chat import Message, Reply, Settings, Usage
from controlplane.tasks.ai.providers import Model

_PLAIN = Settings(thinking_off=False)


def _model(
    task: GeminiChatCompletion | GeminiTextCompletion | GeminiStructuredOutputCompletion,
    ctx: RunContext,
) -> Model:
    provider = GoogleGeminiProvider(
        type="io.kestra.plugin.ai.provider.GoogleGemini", modelName=task.model, apiKey=task.apiKey
    )
    return Model(provider, ctx)


def _metrics(ctx: RunContext, replies: list[Reply]) -> None:
    used = sum((r.usage for r in replies), Usage())
    ctx.metric("candidate.token.count", used.output)
    ctx.metric("prompt.token.count", used.input)
    ctx.metric("total.token.count", used.total)


def _prediction(reply: Reply) -> dict[str, Any]:
    return {**reply.details, "content": reply.text}


@runs(GeminiChatCompletion)
def run_gemini_chat_completion(task: GeminiChatCompletion, ctx: RunContext) -> dict[str, Any]:
    model = _model(task, ctx)
    messages: list[Message] = []
    replies: list[Reply] = []
    for text in props.string_list(ctx, task.messages, "messages"):
        messages.append(Message("user", text))
        reply = model.chat(messages, [], _PLAIN)
        messages.append(reply.as_message())
        replies.append(reply)
    _metrics(ctx, replies)
    return {"predictions": [_prediction(r) for r in replies]}


@runs(GeminiTextCompletion)
def run_gemini_text_completion(task: GeminiTextCompletion, ctx: RunContext) -> dict[str, Any]:
    reply = _model(task, ctx).chat([Message("user", props.text(ctx, task.prompt))], [], _PLAIN)
    _metrics(ctx, [reply])
    return {"predictions": [_prediction(reply)]}


@runs(GeminiStructuredOutputCompletion)
def run_gemini_structured_output_completion(
    task: GeminiStructuredOutputCompletion, ctx: RunContext
) -> dict[str, Any]:
    try:
        schema = json.loads(props.text(ctx, task.jsonResponseSchema))
    except ValueError:
        raise TaskFailed("'jsonResponseSchema' is not valid JSON") from None
    settings = Settings(json=True, json_schema=schema, thinking_off=False)
    reply = _model(task, ctx).chat([Message("user", props.text(ctx, task.prompt))], [], settings)
    _metrics(ctx, [reply])
    texts = [p["text"] for p in reply.raw["parts"] if "text" in p and not p.get("thought")]
    return {"predictions": texts}
