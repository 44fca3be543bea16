"""Anthropic, Perplexity and DeepSeek chat completions, and Hugging Face inference, over their
HTTP APIs.

Each service's address can be moved for a proxy or a compatible server: Anthropic's with
``ANTHROPIC_BASE_URL`` and Perplexity's with ``PERPLEXITY_BASE_URL`` in the worker's environment
(the official clients' convention), DeepSeek's with the task's ``baseUrl``. API keys go in
headers only and never into a message or log line.
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.llm import (
    AnthropicChatCompletion,
    DeepSeekChatCompletion,
    HuggingFaceInference,
    PerplexityChatCompletion,
    TypedMessage,
)
from controlplane.tasks import props

ANTHROPIC_URL = "https://api.anthropic.com"
PERPLEXITY_URL = "https://api.perplexity.ai"
_ROLES = {"SYSTEM": "system", "USER": "user", "ASSISTANT": "assistant"}


def _messages(
    ctx: RunContext, raw: list[TypedMessage] | str, allowed: set[str]
) -> list[dict[str, str]]:
    if isinstance(raw, str):
        rendered = ctx.render_typed(raw)
        raw = json.loads(rendered) if isinstance(rendered, str) else rendered
    messages = []
    for item in raw:
        message = item if isinstance(item, TypedMessage) else TypedMessage.model_validate(item)
        kind = props.text(ctx, message.type).upper()
        if kind not in allowed:
            raise TaskFailed(f"a message's 'type' must be one of {', '.join(sorted(allowed))}")
        content = props.optional_text(ctx, message.content) or ""
        messages.append({"role": _ROLES[kind], "content": content})
    if not messages:
        raise TaskFailed("'messages' is empty: give at least one message")
    return messages


def _post(service: str, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    answer = post_json(service, url, body, headers)
    if not isinstance(answer, dict):
        raise TaskFailed(f"{service} answered something that is not a JSON object")
    return answer


def post_json(service: str, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """POST ``body`` as JSON and answer the JSON reply; a failure to connect or an error status
    is a TaskFailed naming ``service`` and the API's own error message (never the headers)."""
    try:
        response = requests.post(url, json=body, headers=headers, timeout=(30, 600))
    except requests.RequestException as exc:
        raise TaskFailed(f"{service} could not be reached: {type(exc).__name__}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code >= 400:
        error = answer.get("error") if isinstance(answer, dict) else None
        message = error.get("message") if isinstance(error, dict) else response.text[:300]
        raise TaskFailed(f"{service} API error {response.status_code}: {message}")
    return answer


def _first_reply(service: str, answer: dict[str, Any]) -> str:
    try:
        return str(answer["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        raise TaskFailed(f"{service} answered without a choice to read") from None


def _usage(ctx: RunContext, answer: dict[str, Any], names: dict[str, str]) -> None:
    usage = answer.get("usage") or {}
    for key, metric in names.items():
        value = usage.get(key)
        if isinstance(value, int | float):
            ctx.metric(metric, value)


# -- Anthropic ----------------------------------------------------------------------------------


@runs(AnthropicChatCompletion)
def run_anthropic_chat_completion(task: AnthropicChatCompletion, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": props.text(ctx, task.model),
        "max_tokens": props.integer(ctx, task.maxTokens, "maxTokens"),
        "messages": _messages(ctx, task.messages, {"USER", "ASSISTANT"}),
    }
    system = props.optional_text(ctx, task.system)
    if system:
        body["system"] = system
    for key, value in (("temperature", task.temperature), ("top_p", task.topP)):
        if value is not None:
            body[key] = float(props.text(ctx, value))
    if task.topK is not None:
        body["top_k"] = props.integer(ctx, task.topK, "topK")
    if task.tools:
        body["tools"] = [
            {
                "name": props.text(ctx, tool.name),
                **({"description": props.text(ctx, tool.description)} if tool.description else {}),
                "input_schema": ctx.render(tool.inputSchema or {"type": "object"}),
            }
            for tool in task.tools
        ]
    if props.boolean(ctx, task.promptCaching):
        body["cache_control"] = {"type": "ephemeral"}
    base = os.environ.get("ANTHROPIC_BASE_URL", ANTHROPIC_URL).rstrip("/")
    headers = {"x-api-key": props.text(ctx, task.apiKey), "anthropic-version": "2023-06-01"}
    answer = _post("Anthropic", f"{base}/v1/messages", body, headers)
    _usage(
        ctx,
        answer,
        {
            "input_tokens": "usage.input.tokens",
            "output_tokens": "usage.output.tokens",
            "cache_creation_input_tokens": "usage.cache.creation.tokens",
            "cache_read_input_tokens": "usage.cache.read.tokens",
        },
    )
    blocks = answer.get("content") or []
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    tool_uses = [
        {"id": b.get("id"), "name": b.get("name"), "input": b.get("input")}
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    usage = answer.get("usage") or {}
    return {
        "rawResponse": json.dumps(answer),
        "outputText": text,
        "toolUses": tool_uses or None,
        "stopReason": answer.get("stop_reason"),
        "cacheCreationInputTokens": usage.get("cache_creation_input_tokens"),
        "cacheReadInputTokens": usage.get("cache_read_input_tokens"),
    }


# -- Perplexity ---------------------------------------------------------------------------------


@runs(PerplexityChatCompletion)
def run_perplexity_chat_completion(
    task: PerplexityChatCompletion, ctx: RunContext
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": props.text(ctx, task.model),
        "messages": _messages(ctx, task.messages, set(_ROLES)),
        "temperature": float(props.text(ctx, task.temperature)),
        "top_p": float(props.text(ctx, task.topP)),
        "top_k": props.integer(ctx, task.topK, "topK"),
        "stream": False,
        "presence_penalty": float(props.text(ctx, task.presencePenalty)),
        "frequency_penalty": float(props.text(ctx, task.frequencyPenalty)),
    }
    if props.boolean(ctx, task.stream):
        ctx.info("'stream' is not used: the whole answer is read at once")
    if task.maxTokens is not None:
        body["max_tokens"] = props.integer(ctx, task.maxTokens, "maxTokens")
    schema = props.optional_text(ctx, task.jsonResponseSchema)
    if schema:
        try:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"schema": json.loads(schema)},
            }
        except ValueError:
            raise TaskFailed("'jsonResponseSchema' is not valid JSON") from None
    base = os.environ.get("PERPLEXITY_BASE_URL", PERPLEXITY_URL).rstrip("/")
    headers = {"Authorization": f"Bearer {props.text(ctx, task.apiKey)}"}
    answer = _post("Perplexity", f"{base}/chat/completions", body, headers)
    _usage(
        ctx,
        answer,
        {
            "prompt_tokens": "usage.prompt.tokens",
            "completion_tokens": "usage.completion.tokens",
            "total_tokens": "usage.total.tokens",
        },
    )
    return {"outputText": _first_reply("Perplexity", answer), "rawResponse": json.dumps(answer)}


# -- DeepSeek -----------------------------------------------------------------------------------


def _json_reply(reply: str, schema: dict[str, Any]) -> str:
    """The reply as the schema asks: an object whose only array property is wanted, when the
    model answered with the bare array (DeepSeek's JSON mode answers objects or arrays)."""
    try:
        value = json.loads(reply)
    except ValueError:
        return reply
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if schema.get("type") == "object" and isinstance(value, list) and isinstance(properties, dict):
        arrays = [
            k for k, v in properties.items() if isinstance(v, dict) and v.get("type") == "array"
        ]
        if len(arrays) == 1:
            return json.dumps({arrays[0]: value})
    return reply


@runs(DeepSeekChatCompletion)
def run_deepseek_chat_completion(task: DeepSeekChatCompletion, ctx: RunContext) -> dict[str, Any]:
    messages = _messages(ctx, task.messages, set(_ROLES))
    schema_text = props.optional_text(ctx, task.jsonResponseSchema)
    body: dict[str, Any] = {"model": props.text(ctx, task.modelName), "messages": messages}
    schema: dict[str, Any] = {}
    if schema_text and schema_text.strip():
        instruction = (
            "You must output valid JSON only (no extra text). Follow this JSON Schema strictly "
            "when formatting your response. If a field is unknown, output a sensible empty value "
            f"of the correct type. JSON Schema:\n{schema_text}"
        )
        body["messages"] = [{"role": "system", "content": instruction}, *messages]
        body["response_format"] = {"type": "json_object"}
        try:
            parsed = json.loads(schema_text)
            schema = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            schema = {}
    base = props.text(ctx, task.baseUrl).rstrip("/")
    headers = {"Authorization": f"Bearer {props.text(ctx, task.apiKey)}"}
    answer = _post("DeepSeek", f"{base}/chat/completions", body, headers)
    reply = _first_reply("DeepSeek", answer)
    if schema:
        reply = _json_reply(reply, schema)
    return {"response": reply, "raw": json.dumps(answer)}


# -- Hugging Face -------------------------------------------------------------------------------


@runs(HuggingFaceInference)
def run_huggingface_inference(task: HuggingFaceInference, ctx: RunContext) -> dict[str, Any]:
    url = "/".join((props.text(ctx, task.endpoint).rstrip("/"), props.text(ctx, task.model)))
    body: dict[str, Any] = {"inputs": props.text(ctx, task.inputs)}
    parameters = props.mapping(ctx, task.parameters, "parameters")
    if parameters:
        body["parameters"] = parameters
    headers = {
        "Authorization": f"Bearer {props.text(ctx, task.apiKey)}",
        "x-use-cache": str(props.boolean(ctx, task.useCache)).lower(),
        "x-wait-for-model": str(props.boolean(ctx, task.waitForModel)).lower(),
    }
    answer = post_json("Hugging Face", url, body, headers)
    return {"output": answer}
