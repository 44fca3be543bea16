"""The model providers of Kestra's AI tasks over their HTTP APIs: chat (with tool calls) and
embeddings.

OpenAI, Mistral, DeepSeek and Ollama speak OpenAI's Chat Completions and Embeddings APIs
(Ollama's OpenAI-compatible ``/v1``); Gemini its ``generateContent`` and
``batchEmbedContents``; Anthropic its Messages API (no embeddings). Where ``baseUrl`` is not
given, an address in the worker's environment (the services' clients' convention: e.g.
``OPENAI_BASE_URL``) moves the default one. Keys travel in headers only.
"""

from __future__ import annotations

import json
import os
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.ai import (
    AnthropicProvider,
    DeepSeekProvider,
    GoogleGeminiProvider,
    MistralAIProvider,
    OllamaProvider,
    OpenAIProvider,
)
from controlplane.tasks import props
from controlplane.tasks.ai.chat import Embedded, Message, Reply, Settings, ToolCall, ToolSpec, Usage
from controlplane.tasks.llm import post_json

AnyProvider = (
    OpenAIProvider
    | DeepSeekProvider
    | MistralAIProvider
    | OllamaProvider
    | GoogleGeminiProvider
    | AnthropicProvider
)

_COMPATIBLE: dict[type, tuple[str, str | None, str]] = {
    OpenAIProvider: ("OpenAI", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    MistralAIProvider: ("Mistral AI", "MISTRAL_BASE_URL", "https://api.mistral.ai/v1"),
    DeepSeekProvider: ("DeepSeek", None, "https://api.deepseek.com/v1"),
}
_OPENAI_FINISH = {
    "stop": "STOP",
    "length": "LENGTH",
    "tool_calls": "TOOL_EXECUTION",
    "function_call": "TOOL_EXECUTION",
    "content_filter": "CONTENT_FILTER",
}
_GEMINI_FINISH = {
    "STOP": "STOP",
    "MAX_TOKENS": "LENGTH",
    "SAFETY": "CONTENT_FILTER",
    "RECITATION": "CONTENT_FILTER",
    "PROHIBITED_CONTENT": "CONTENT_FILTER",
}
_GEMINI_BATCH = 100
"""The most texts one batchEmbedContents request takes."""
_ANTHROPIC_FINISH = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "max_tokens": "LENGTH",
    "tool_use": "TOOL_EXECUTION",
    "refusal": "CONTENT_FILTER",
}


class Model:
    """One provider's model as a task configured it."""

    def __init__(self, provider: AnyProvider, ctx: RunContext) -> None:
        self.provider = provider
        self.ctx = ctx
        self.name = props.text(ctx, provider.modelName)
        self.kind = type(provider).__name__.removesuffix("Provider")

    # -- addresses and keys -------------------------------------------------------------------
    def _base(self, env: str | None, default: str) -> str:
        given = props.optional_text(self.ctx, self.provider.baseUrl)
        if not given and isinstance(self.provider, OllamaProvider):
            given = props.text(self.ctx, self.provider.endpoint).rstrip("/") + "/v1"
        return (given or (os.environ.get(env) if env else None) or default).rstrip("/")

    def _compatible(self) -> tuple[str, str, dict[str, str]]:
        if isinstance(self.provider, OllamaProvider):
            return "Ollama", self._base(None, "http://localhost:11434/v1"), {}
        assert isinstance(self.provider, OpenAIProvider | MistralAIProvider | DeepSeekProvider)
        service, env, default = _COMPATIBLE[type(self.provider)]
        key = props.text(self.ctx, self.provider.apiKey)
        return service, self._base(env, default), {"Authorization": f"Bearer {key}"}

    def _post(
        self,
        service: str,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
        settings: Settings | None = None,
    ) -> dict[str, Any]:
        if settings is not None and settings.log_requests:
            self.ctx.info(f"{service} request: {json.dumps(body)}")
        answer = post_json(service, url, body, headers)
        if not isinstance(answer, dict):
            raise TaskFailed(f"{service} answered something that is not a JSON object")
        if settings is not None and settings.log_responses:
            self.ctx.info(f"{service} response: {json.dumps(answer)}")
        return answer

    # -- chat -----------------------------------------------------------------------------------
    def chat(self, messages: list[Message], tools: list[ToolSpec], settings: Settings) -> Reply:
        if isinstance(self.provider, GoogleGeminiProvider):
            return self._gemini_chat(messages, tools, settings)
        if isinstance(self.provider, AnthropicProvider):
            return self._anthropic_chat(messages, tools, settings)
        return self._compatible_chat(messages, tools, settings)

    def embed(self, texts: list[str]) -> Embedded:
        if not texts:
            return Embedded()
        if isinstance(self.provider, GoogleGeminiProvider):
            return self._gemini_embed(texts)
        if isinstance(self.provider, AnthropicProvider):
            raise TaskFailed("Anthropic has no embedding models: use another provider")
        service, base, headers = self._compatible()
        answer = self._post(
            service, f"{base}/embeddings", {"model": self.name, "input": texts}, headers
        )
        data = sorted(answer.get("data") or [], key=lambda item: item.get("index", 0))
        if len(data) != len(texts):
            raise TaskFailed(f"{service} answered {len(data)} embeddings for {len(texts)} texts")
        usage = answer.get("usage") or {}
        tokens = Usage(int(usage.get("prompt_tokens") or 0), 0, int(usage.get("total_tokens") or 0))
        return Embedded([[float(x) for x in item["embedding"]] for item in data], tokens)

    # -- OpenAI-compatible ------------------------------------------------------------------
    def _compatible_chat(
        self, messages: list[Message], tools: list[ToolSpec], settings: Settings
    ) -> Reply:
        if settings.top_k is not None:
            raise TaskFailed(f"{self.kind} models do not support setting the topK parameter.")
        service, base, headers = self._compatible()
        body: dict[str, Any] = {"model": self.name, "messages": [_openai(m) for m in messages]}
        # OpenAI's newer models take only max_completion_tokens; the compatible APIs max_tokens.
        limit = (
            "max_completion_tokens" if isinstance(self.provider, OpenAIProvider) else "max_tokens"
        )
        for key, value in (
            ("temperature", settings.temperature),
            ("top_p", settings.top_p),
            ("seed", settings.seed),
            (limit, settings.max_tokens),
        ):
            if value is not None:
                body[key] = value
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        if settings.json:
            body["response_format"] = (
                {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "output",
                        "strict": settings.strict_json,
                        "schema": settings.json_schema,
                    },
                }
                if settings.json_schema and not isinstance(self.provider, DeepSeekProvider)
                else {"type": "json_object"}
            )
        answer = self._post(service, f"{base}/chat/completions", body, headers, settings)
        try:
            choice = answer["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise TaskFailed(f"{service} answered without a choice to read") from None
        calls = tuple(
            ToolCall(str(c.get("id")), c["function"]["name"], _arguments(c["function"]))
            for c in message.get("tool_calls") or []
        )
        usage = answer.get("usage") or {}
        return Reply(
            answer.get("id"),
            message.get("content") or "",
            calls,
            _OPENAI_FINISH.get(str(choice.get("finish_reason")), "OTHER"),
            Usage(
                int(usage.get("prompt_tokens") or 0),
                int(usage.get("completion_tokens") or 0),
                int(usage.get("total_tokens") or 0),
            ),
            thinking=message.get("reasoning_content"),
        )

    # -- Gemini ---------------------------------------------------------------------------------
    def _gemini_key(self) -> dict[str, str]:
        assert isinstance(self.provider, GoogleGeminiProvider)
        key = props.optional_text(self.ctx, self.provider.apiKey)
        if not key:
            raise TaskFailed("GoogleGemini requires `apiKey`")
        return {"x-goog-api-key": key}

    def _gemini_base(self) -> str:
        return self._base(
            "GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta"
        )

    def _gemini_chat(
        self, messages: list[Message], tools: list[ToolSpec], settings: Settings
    ) -> Reply:
        system = [m.text for m in messages if m.role == "system"]
        body: dict[str, Any] = {"contents": _gemini_contents(messages)}
        if system:
            body["systemInstruction"] = {"parts": [{"text": "\n".join(system)}]}
        if tools:
            body["tools"] = [
                {
                    "functionDeclarations": [
                        {"name": t.name, "description": t.description, "parameters": t.parameters}
                        for t in tools
                    ]
                }
            ]
        body["generationConfig"] = _gemini_config(settings)
        url = f"{self._gemini_base()}/models/{self.name}:generateContent"
        answer = self._post("Gemini", url, body, self._gemini_key(), settings)
        return _gemini_reply(answer)

    def _gemini_embed(self, texts: list[str]) -> Embedded:
        assert isinstance(self.provider, GoogleGeminiProvider)
        extra: dict[str, Any] = {}
        options = self.provider.embeddingModelConfiguration
        if options is not None and options.taskType:
            extra["taskType"] = props.text(self.ctx, options.taskType)
        if options is not None and options.outputDimensionality is not None:
            extra["outputDimensionality"] = props.integer(
                self.ctx, options.outputDimensionality, "outputDimensionality"
            )
        url = f"{self._gemini_base()}/models/{self.name}:batchEmbedContents"
        vectors: list[list[float]] = []
        for start in range(0, len(texts), _GEMINI_BATCH):
            batch = texts[start : start + _GEMINI_BATCH]
            requests = [
                {"model": f"models/{self.name}", "content": {"parts": [{"text": t}]}, **extra}
                for t in batch
            ]
            answer = self._post("Gemini", url, {"requests": requests}, self._gemini_key())
            embeddings = answer.get("embeddings") or []
            if len(embeddings) != len(batch):
                raise TaskFailed(
                    f"Gemini answered {len(embeddings)} embeddings for {len(batch)} texts"
                )
            vectors += [[float(x) for x in e.get("values") or []] for e in embeddings]
        return Embedded(vectors)

    # -- Anthropic ------------------------------------------------------------------------------
    def _anthropic_chat(
        self, messages: list[Message], tools: list[ToolSpec], settings: Settings
    ) -> Reply:
        assert isinstance(self.provider, AnthropicProvider)
        if settings.seed is not None:
            raise TaskFailed("Anthropic models do not support setting the seed.")
        if settings.json:
            raise TaskFailed("Anthropic models do not support configuring the response format.")
        own = self.provider.maxTokens
        max_tokens = settings.max_tokens or (
            props.integer(self.ctx, own, "maxTokens") if own is not None else 1024
        )
        body: dict[str, Any] = {
            "model": self.name,
            "max_tokens": max_tokens,
            "messages": _anthropic_messages(messages),
        }
        system = "\n".join(m.text for m in messages if m.role == "system")
        if system:
            body["system"] = system
        for key, value in (
            ("temperature", settings.temperature),
            ("top_p", settings.top_p),
            ("top_k", settings.top_k),
        ):
            if value is not None:
                body[key] = value
        if settings.thinking:
            body["thinking"] = {
                "type": "enabled",
                "budget_tokens": settings.thinking_budget or 1024,
            }
        if tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        base = self._base(None, "")
        if not base:
            base = os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com").rstrip("/")
            base += "/v1"
        headers = {
            "x-api-key": props.text(self.ctx, self.provider.apiKey),
            "anthropic-version": "2023-06-01",
        }
        answer = self._post("Anthropic", f"{base}/messages", body, headers, settings)
        blocks = answer.get("content") or []
        calls = tuple(
            ToolCall(str(b.get("id")), str(b.get("name")), dict(b.get("input") or {}))
            for b in blocks
            if b.get("type") == "tool_use"
        )
        usage = answer.get("usage") or {}
        used = Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
        return Reply(
            answer.get("id"),
            "".join(b.get("text", "") for b in blocks if b.get("type") == "text"),
            calls,
            _ANTHROPIC_FINISH.get(str(answer.get("stop_reason")), "OTHER"),
            Usage(used.input, used.output, used.input + used.output),
            raw=blocks,
            thinking="".join(b.get("thinking", "") for b in blocks if b.get("type") == "thinking")
            or None,
        )


def _arguments(function: dict[str, Any]) -> dict[str, Any]:
    raw = function.get("arguments") or "{}"
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise TaskFailed(
            f"the model called {function.get('name')} with arguments that are not JSON"
        ) from None
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _openai(message: Message) -> dict[str, Any]:
    if message.role == "tool" and message.call is not None:
        return {"role": "tool", "tool_call_id": message.call.id, "content": message.text}
    entry: dict[str, Any] = {"role": message.role, "content": message.text}
    if message.calls:
        entry["content"] = message.text or None
        entry["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in message.calls
        ]
    return entry


def _gemini_contents(messages: list[Message]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "assistant":
            part = message.raw if isinstance(message.raw, dict) else None
            contents.append(part or {"role": "model", "parts": [{"text": message.text}]})
            continue
        if message.role == "tool" and message.call is not None:
            response = {"name": message.call.name, "response": {"result": message.text}}
            if not message.call.id.startswith("call-"):
                response["id"] = message.call.id
            part = {"functionResponse": response}
            if contents and contents[-1]["role"] == "user" and contents[-1].get("tool"):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part], "tool": True})
            continue
        contents.append({"role": "user", "parts": [{"text": message.text}]})
    return [{k: v for k, v in c.items() if k != "tool"} for c in contents]


def _anthropic_messages(messages: list[Message]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "assistant":
            blocks = message.raw if isinstance(message.raw, list) else None
            result.append({"role": "assistant", "content": blocks or message.text})
        elif message.role == "tool" and message.call is not None:
            block = {"type": "tool_result", "tool_use_id": message.call.id, "content": message.text}
            if result and result[-1].get("tool"):
                result[-1]["content"].append(block)
            else:
                result.append({"role": "user", "content": [block], "tool": True})
        else:
            result.append({"role": "user", "content": message.text})
    return [{k: v for k, v in m.items() if k != "tool"} for m in result]


def _gemini_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in (
        ("temperature", settings.temperature),
        ("topP", settings.top_p),
        ("topK", settings.top_k),
        ("seed", settings.seed),
        ("maxOutputTokens", settings.max_tokens),
    ):
        if value is not None:
            config[key] = value
    thinking: dict[str, Any] = {"includeThoughts": True} if settings.thinking else {}
    if settings.thinking_budget is not None:
        thinking["thinkingBudget"] = settings.thinking_budget
    elif not settings.thinking and settings.thinking_off:
        thinking["thinkingBudget"] = 0
    if thinking:
        config["thinkingConfig"] = thinking
    if settings.json:
        config["responseMimeType"] = "application/json"
        if settings.json_schema:
            config["responseSchema"] = settings.json_schema
    return config


def _gemini_reply(answer: dict[str, Any]) -> Reply:
    candidates = answer.get("candidates") or []
    if not candidates:
        blocked = (answer.get("promptFeedback") or {}).get("blockReason")
        raise TaskFailed(f"Gemini answered no candidate{f' ({blocked})' if blocked else ''}")
    content = candidates[0].get("content") or {}
    parts = content.get("parts") or []
    texts = [p["text"] for p in parts if "text" in p and not p.get("thought")]
    thoughts = [p["text"] for p in parts if "text" in p and p.get("thought")]
    calls = tuple(
        ToolCall(
            str(p["functionCall"].get("id") or f"call-{i}"),
            p["functionCall"]["name"],
            dict(p["functionCall"].get("args") or {}),
        )
        for i, p in enumerate(parts)
        if "functionCall" in p
    )
    usage = answer.get("usageMetadata") or {}
    finish = (
        "TOOL_EXECUTION"
        if calls
        else _GEMINI_FINISH.get(str(candidates[0].get("finishReason")), "OTHER")
    )
    return Reply(
        answer.get("responseId"),
        "".join(texts),
        calls,
        finish,
        Usage(
            int(usage.get("promptTokenCount") or 0),
            int(usage.get("candidatesTokenCount") or 0),
            int(usage.get("totalTokenCount") or 0),
        ),
        raw={"role": "model", "parts": parts},
        thinking="".join(thoughts) or None,
        details={
            "safetyRatings": candidates[0].get("safetyRatings"),
            "citationMetadata": candidates[0].get("citationMetadata"),
        },
    )
