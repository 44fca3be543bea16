"""OpenAI chat completions (``openai.ChatCompletion``) over the HTTP API.

``messages`` (and ``prompt``, appended as a user message) go to ``POST /chat/completions`` of
``https://api.openai.com/v1``, or of ``OPENAI_BASE_URL`` when the worker's environment sets it
(the OpenAI clients' convention, for a proxy or a compatible server). The outputs are Kestra's:
``choices``, ``model`` and ``usage``, with ``finishReason`` and the other keys in camel case.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.openai import ChatCompletion, ChatMessage, CreateImage, Responses
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


def _post(
    task: ChatCompletion | Responses | CreateImage, ctx: RunContext, path: str, body: Any
) -> Any:
    base = os.environ.get("OPENAI_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    timeout = props.integer(ctx, task.clientTimeout, "clientTimeout")
    headers = {"Authorization": f"Bearer {props.text(ctx, task.apiKey)}"}
    try:
        response = requests.post(f"{base}{path}", json=body, headers=headers, timeout=timeout)
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
    return answer


@runs(ChatCompletion)
def run_chat_completion(task: ChatCompletion, ctx: RunContext) -> dict[str, Any]:
    answer = _post(task, ctx, "/chat/completions", _body(task, ctx))
    usage = answer.get("usage") or {}
    ctx.metric("usage.total_tokens", float(usage.get("total_tokens", 0)))
    return {
        "id": answer.get("id"),
        "model": answer.get("model"),
        "choices": _camel(answer.get("choices") or []),
        "usage": _camel(usage),
    }


def _response_input(ctx: RunContext, value: Any) -> list[dict[str, Any]]:
    rendered = ctx.render(value)
    if isinstance(rendered, str) and rendered.strip().startswith("["):
        with contextlib.suppress(ValueError):
            rendered = json.loads(rendered)
    if isinstance(rendered, str):
        return [{"role": "user", "content": [{"type": "input_text", "text": rendered}]}]
    if not isinstance(rendered, list):
        raise TaskFailed("'input' must be a text or a list of {role, content} messages")
    messages = []
    for item in rendered:
        if not isinstance(item, dict) or "content" not in item:
            raise TaskFailed("each message of 'input' needs a 'content'")
        content = item["content"]
        if isinstance(content, str):
            content = [{"type": "input_text", "text": content}]
        messages.append({"role": str(item.get("role", "user")).lower(), "content": content})
    return messages


@runs(Responses)
def run_responses(task: Responses, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": props.text(ctx, task.model),
        "input": _response_input(ctx, task.input),
        "store": props.boolean(ctx, task.store),
        "temperature": float(props.text(ctx, task.temperature)),
        "tool_choice": task.toolChoice.lower(),
    }
    if task.topP is not None:
        body["top_p"] = float(props.text(ctx, task.topP))
    if task.maxOutputTokens is not None:
        body["max_output_tokens"] = props.integer(ctx, task.maxOutputTokens, "maxOutputTokens")
    if task.parallelToolCalls is not None:
        body["parallel_tool_calls"] = props.boolean(ctx, task.parallelToolCalls)
    for key, text in (("previous_response_id", task.previousResponseId), ("user", task.user)):
        if text is not None:
            body[key] = props.text(ctx, text)
    for key, mapping in (("text", task.text), ("reasoning", task.reasoning)):
        if mapping is not None:
            body[key] = props.mapping(ctx, mapping, key)
    if task.tools:
        tools = ctx.render_typed(task.tools) if isinstance(task.tools, str) else task.tools
        body["tools"] = ctx.render(tools)
    if task.promptId is not None:
        prompt: dict[str, Any] = {"id": props.text(ctx, task.promptId)}
        variables = props.mapping(ctx, task.promptVariables, "promptVariables")
        if variables:
            prompt["variables"] = variables
        body["prompt"] = prompt
    if props.boolean(ctx, task.promptCaching):
        body["prompt_cache_retention"] = "24h"
    answer = _post(task, ctx, "/responses", body)
    usage = answer.get("usage") or {}
    for key, metric in (("input_tokens", "usage.prompt.tokens"),
                        ("output_tokens", "usage.completion.tokens"),
                        ("total_tokens", "usage.total.tokens")):  # fmt: skip
        if isinstance(usage.get(key), int | float):
            ctx.metric(metric, float(usage[key]))
    texts, sources = [], []
    for item in answer.get("output") or []:
        for part in item.get("content") or [] if item.get("type") == "message" else []:
            if part.get("type") == "output_text":
                texts.append(part.get("text", ""))
                sources += [
                    a["url"]
                    for a in part.get("annotations") or []
                    if a.get("type") == "url_citation"
                ]
    return {
        "responseId": answer.get("id"),
        "outputText": "".join(texts),
        "sources": sources,
        "rawResponse": answer,
    }


_SIZES = {"SMALL": "256x256", "MEDIUM": "512x512", "LARGE": "1024x1024"}


@runs(CreateImage)
def run_create_image(task: CreateImage, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": props.text(ctx, task.model),
        "prompt": props.text(ctx, task.prompt),
        "size": _SIZES[task.size],
    }
    if task.n is not None:
        body["n"] = task.n
    if task.quality is not None:
        body["quality"] = task.quality.lower()
    if task.user is not None:
        body["user"] = props.text(ctx, task.user)
    answer = _post(task, ctx, "/images/generations", body)
    images = []
    for index, image in enumerate(answer.get("data") or []):
        if image.get("b64_json"):
            data = base64.b64decode(image["b64_json"])
            images.append(ctx.put_file(f"openai-image-{index}.png", data))
        elif image.get("url"):
            images.append(image["url"])
    return {"images": images}
