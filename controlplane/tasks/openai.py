"""OpenAI chat completions (``openai.ChatCompletion``) over the HTTP API.

``messages`` (and ``prompt``, appended as a user message) go to ``POST /chat/completions`` of
``https://api.openai.com/v1``, or of ``OPENAI_BASE_URL`` when the worker's environment sets it
(the OpenAI clients' convention, for a proxy or a compatible server). The outputs are Kestra's:
``choices``, ``model`` and ``usage``, with ``finishReason`` and the other keys in camel case.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.openai import ChatCompletion, ChatMessage
from controlplane.tasks import props

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_SNAKE = re.compile(r"_([a-z])")


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_SNAKE.sub(lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _messages(task: ChatCompletion, ctx: RunContext) -> list[dict[str, Any]]:
    raw: Any = task.messages or []
    if isinstance(raw, str):
        raw = ctx.render_typed(raw)
        raw = json.loads(raw) if isinstance(raw, str) else raw
    messages = []
    for item in raw:
        message = item if isinstance(item, ChatMessage) else ChatMessage.model_validate(item)
        entry = {"role": props.text(ctx, message.role).lower()}
        if message.content is not None:
            entry["content"] = props.text(ctx, message.content)
        if message.name is not None:
            entry["name"] = props.text(ctx, message.name)
        messages.append(entry)
    prompt = props.optional_text(ctx, task.prompt)
    if prompt:
        messages.append({"role": "user", "content": prompt})
    if not messages:
        raise TaskFailed("ChatCompletion needs 'messages' or 'prompt'")
    return messages


def _body(task: ChatCompletion, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {"model": props.text(ctx, task.model), "messages": _messages(task, ctx)}
    numbers = {
        "temperature": task.temperature, "top_p": task.topP, "presence_penalty":
        task.presencePenalty, "frequency_penalty": task.frequencyPenalty,
    }  # fmt: skip
    for name, value in numbers.items():
        if value is not None:
            body[name] = float(props.text(ctx, value))
    for name, value in (("n", task.n), ("max_tokens", task.maxTokens)):
        if value is not None:
            body[name] = props.integer(ctx, value, name)
    if task.stop is not None:
        body["stop"] = props.string_list(ctx, task.stop, "stop")
    if task.user is not None:
        body["user"] = props.text(ctx, task.user)
    if task.logitBias:
        body["logit_bias"] = task.logitBias
    if task.functions:
        body["functions"] = ctx.render(task.functions)
        if task.functionName:
            body["function_call"] = {"name": props.text(ctx, task.functionName)}
    schema = props.optional_text(ctx, task.jsonResponseSchema)
    if schema:
        try:
            parsed = json.loads(schema)
        except ValueError:
            raise TaskFailed("'jsonResponseSchema' is not valid JSON") from None
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": parsed, "strict": False},
        }
    return body


@runs(ChatCompletion)
def run_chat_completion(task: ChatCompletion, ctx: RunContext) -> dict[str, Any]:
    base = os.environ.get("OPENAI_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    timeout = props.integer(ctx, task.clientTimeout, "clientTimeout")
    headers = {"Authorization": f"Bearer {props.text(ctx, task.apiKey)}"}
    try:
        response = requests.post(
            f"{base}/chat/completions", json=_body(task, ctx), headers=headers, timeout=timeout
        )
    except requests.RequestException as exc:
        raise TaskFailed(f"OpenAI could not be reached at {base}: {type(exc).__name__}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 400:
        error = (answer.get("error") or {}) if isinstance(answer, dict) else {}
        message = error.get("message") or response.reason
        raise TaskFailed(f"OpenAI answered {response.status_code}: {message}")
    usage = answer.get("usage") or {}
    ctx.metric("usage.total_tokens", float(usage.get("total_tokens", 0)))
    return {
        "id": answer.get("id"),
        "model": answer.get("model"),
        "choices": _camel(answer.get("choices") or []),
        "usage": _camel(usage),
    }
