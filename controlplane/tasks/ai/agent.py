"""The AI agent (``agent.AIAgent``) and the chat completions (``completion.ChatCompletion``,
``rag.ChatCompletion``): one conversation loop.

Content retrievers run first, their findings added to the prompt the way Kestra's retrieval
augmentor does ("Answer using the following information:"). Then the model answers; while it
asks for tools, each is run and its result sent back, up to ``maxSequentialToolsInvocations``
calls. A tool that fails, or one the model names that the task does not give, fails the task
with the reason, as in Kestra. Memory (``memory.KestraKVStore``) keeps the conversation as a KV
pair of the namespace, read before and written after.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.ai import (
    ChatConfiguration,
    EmbeddingStoreRetriever,
    KestraKVMemory,
    TavilyRetriever,
)
from controlplane.spec.plugins.ai_tasks import AIAgent, AIChatCompletion, RagChatCompletion
from controlplane.tasks import props
from controlplane.tasks.ai.chat import (
    Message,
    Reply,
    Settings,
    ToolCall,
    ToolSpec,
    Usage,
    settings,
)
from controlplane.tasks.ai.providers import AnyProvider, Model
from controlplane.tasks.ai.rag import retrieve
from controlplane.tasks.ai.tools import Executor, Found, tavily_search, tools_of

_INJECT = "{prompt}\n\nAnswer using the following information:\n{contents}"


@dataclass
class Outcome:
    reply: Reply
    usage: Usage = field(default_factory=Usage)
    executions: list[dict[str, Any]] = field(default_factory=list)
    intermediate: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Found] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def converse(
    ctx: RunContext,
    model: Model,
    chat: Settings,
    messages: list[Message],
    tools: dict[str, tuple[ToolSpec, Executor]],
    max_calls: int | None,
) -> Outcome:
    """Ask the model until it answers without calling a tool."""
    outcome = Outcome(Reply(None, "", (), "OTHER", Usage()), messages=list(messages))
    specs = [spec for spec, _ in tools.values()]
    calls = 0
    while True:
        reply = model.chat(outcome.messages, specs, chat)
        outcome.usage = outcome.usage + reply.usage
        outcome.reply = reply
        outcome.messages.append(reply.as_message())
        if not reply.calls:
            return outcome
        outcome.intermediate.append(_intermediate(reply))
        for call in reply.calls:
            calls += 1
            if max_calls is not None and calls > max_calls:
                raise TaskFailed(
                    f"the model called tools more than {max_calls} times in a row "
                    "(maxSequentialToolsInvocations)"
                )
            result = _call(ctx, tools, call)
            outcome.executions.append(
                {
                    "requestId": call.id,
                    "requestName": call.name,
                    "requestArguments": call.arguments,
                    "result": result,
                }
            )
            outcome.messages.append(Message("tool", result, call=call))


def _call(ctx: RunContext, tools: dict[str, tuple[ToolSpec, Executor]], call: ToolCall) -> str:
    found = tools.get(call.name)
    if found is None:
        raise TaskFailed(
            f"the model called tool {call.name}, which the task does not give it "
            f"(its tools: {', '.join(tools) or 'none'})"
        )
    ctx.metric("ai.agent.tool.calls", 1, tool=call.name)
    ctx.info(f"the model calls tool {call.name}")
    return found[1](call.arguments)


def _intermediate(reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "completion": reply.text,
        "tokenUsage": reply.usage.as_output(),
        "finishReason": reply.finish_reason,
        "toolExecutionRequests": [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in reply.calls
        ],
    }


def augmented(ctx: RunContext, prompt: str, retrievers: Sequence[Any]) -> tuple[str, list[Found]]:
    """The prompt with what the content retrievers find for it."""
    found: list[Found] = []
    for retriever in retrievers:
        if isinstance(retriever, EmbeddingStoreRetriever):
            ctx.metric("ai.provider.calls", 1, provider=retriever.embeddingProvider.type)
            found += retrieve(ctx, retriever, prompt)
        elif isinstance(retriever, TavilyRetriever):
            count = props.integer(ctx, retriever.maxResults, "maxResults")
            found += tavily_search(ctx, props.text(ctx, retriever.apiKey), prompt, count)
        else:
            raise TaskFailed(f"content retriever {retriever.type} cannot run on Weir")
    if not found:
        return prompt, found
    return _INJECT.format(prompt=prompt, contents="\n\n".join(f.text for f in found)), found


def outputs(ctx: RunContext, outcome: Outcome, chat: Settings) -> dict[str, Any]:
    reply = outcome.reply
    for name, count in (
        ("input", outcome.usage.input),
        ("output", outcome.usage.output),
        ("total", outcome.usage.total),
    ):
        if count:
            ctx.metric(f"{name}.token.count", count)
    json_output = None
    if chat.json:
        try:
            json_output = json.loads(reply.text)
        except ValueError:
            raise TaskFailed("the model was asked for JSON and answered something else") from None
    return {
        "textOutput": None if chat.json else reply.text,
        "jsonOutput": json_output,
        "tokenUsage": outcome.usage.as_output(),
        "finishReason": reply.finish_reason,
        "toolExecutions": outcome.executions,
        "intermediateResponses": outcome.intermediate,
        "thinking": reply.thinking,
        "sources": [{"content": f.text, "metadata": f.metadata} for f in outcome.sources],
        "guardrailViolated": False,
    }


# -- memory ---------------------------------------------------------------------------------------


class Remembered:
    def __init__(self, ctx: RunContext, memory: KestraKVMemory | None) -> None:
        self.ctx = ctx
        self.memory = memory
        self.history: list[Message] = []
        if memory is None:
            return
        self.key = props.text(ctx, memory.memoryId)
        self.keep = props.integer(ctx, memory.messages, "messages")
        self.drop = props.text(ctx, memory.drop).upper()
        if self.drop == "BEFORE_TASKRUN":
            ctx.kv_delete(ctx.namespace, self.key)
            return
        entry = ctx.kv_get(ctx.namespace, self.key)
        if entry is not None:
            value = json.loads(entry.value) if isinstance(entry.value, str) else entry.value
            self.history = [Message(m["role"], m["text"]) for m in value or []]

    def close(self, messages: list[Message]) -> None:
        if self.memory is None:
            return
        if self.drop == "AFTER_TASKRUN":
            self.ctx.kv_delete(self.ctx.namespace, self.key)
            return
        said = [m for m in messages if m.role in ("user", "assistant") and m.text]
        kept = [{"role": m.role, "text": m.text} for m in said[-self.keep :]]
        ttl = props.duration(self.ctx, self.memory.ttl, "ttl").total_seconds()
        self.ctx.kv_set(self.ctx.namespace, self.key, json.dumps(kept), "STRING", ttl)


# -- the tasks ------------------------------------------------------------------------------------


def _model(ctx: RunContext, provider: AnyProvider) -> Model:
    ctx.metric("ai.provider.calls", 1, provider=provider.type)
    return Model(provider, ctx)


def _settings(ctx: RunContext, own: ChatConfiguration, provider: AnyProvider) -> Settings:
    return settings(ctx, own, provider.configuration)


def _start(system: str | None, history: list[Message], prompt: str) -> list[Message]:
    first = [Message("system", system)] if system else []
    return [*first, *history, Message("user", prompt)]


@runs(AIAgent)
def run_ai_agent(task: AIAgent, ctx: RunContext) -> dict[str, Any]:
    chat = _settings(ctx, task.configuration, task.provider)
    model = _model(ctx, task.provider)
    prompt, found = augmented(ctx, props.text(ctx, task.prompt), task.contentRetrievers or [])
    memory = Remembered(ctx, task.memory)
    limit = task.maxSequentialToolsInvocations
    max_calls = props.integer(ctx, limit, "maxSequentialToolsInvocations") if limit else None
    messages = _start(props.optional_text(ctx, task.systemMessage), memory.history, prompt)
    outcome = converse(ctx, model, chat, messages, tools_of(ctx, task.tools), max_calls)
    outcome.sources = found
    memory.close(outcome.messages)
    files = {}
    for pattern in props.string_list(ctx, task.outputFiles, "outputFiles"):
        for path in sorted(ctx.working_dir.glob(pattern)):
            if path.is_file():
                files[str(path.relative_to(ctx.working_dir))] = ctx.put_file(path.name, path)
    return {**outputs(ctx, outcome, chat), "outputFiles": files}


_TYPES = {"SYSTEM": "system", "USER": "user", "AI": "assistant", "ASSISTANT": "assistant"}


@runs(AIChatCompletion)
def run_ai_chat_completion(task: AIChatCompletion, ctx: RunContext) -> dict[str, Any]:
    raw: Any = task.messages
    if isinstance(raw, str):
        raw = ctx.render_typed(raw)
        raw = json.loads(raw) if isinstance(raw, str) else raw
    messages = []
    for item in raw or []:
        kind = str(item.type if hasattr(item, "type") else item.get("type", "USER"))
        content = item.content if hasattr(item, "content") else item.get("content")
        role = _TYPES.get(props.text(ctx, kind).upper())
        if role is None:
            raise TaskFailed(f"a message's 'type' must be SYSTEM, USER or AI, not {kind!r}")
        messages.append(Message(role, props.optional_text(ctx, content) or ""))  # type: ignore[arg-type]
    if sum(m.role == "system" for m in messages) > 1:
        raise TaskFailed("Only one system message is allowed")
    if not messages or messages[-1].role != "user":
        raise TaskFailed("The last message must be a user message")
    messages.sort(key=lambda m: m.role != "system")
    chat = _settings(ctx, task.configuration, task.provider)
    model = _model(ctx, task.provider)
    outcome = converse(ctx, model, chat, messages, tools_of(ctx, task.tools), None)
    result = outputs(ctx, outcome, chat)
    return {**result, "aiResponse": result["textOutput"]}


@runs(RagChatCompletion)
def run_rag_chat_completion(task: RagChatCompletion, ctx: RunContext) -> dict[str, Any]:
    retrievers: list[Any] = []
    if task.embeddings is not None:
        retrievers.append(
            EmbeddingStoreRetriever(
                type="io.kestra.plugin.ai.retriever.EmbeddingStoreRetriever",
                embeddings=task.embeddings,
                embeddingProvider=task.embeddingProvider or task.chatProvider,
                maxResults=task.contentRetrieverConfiguration.maxResults,
                minScore=task.contentRetrieverConfiguration.minScore,
            )
        )
    retrievers += task.contentRetrievers or []
    if not retrievers:
        raise TaskFailed("Either `embeddings` or `contentRetrievers` must be provided.")
    chat = _settings(ctx, task.chatConfiguration, task.chatProvider)
    model = _model(ctx, task.chatProvider)
    prompt, found = augmented(ctx, props.text(ctx, task.prompt), retrievers)
    memory = Remembered(ctx, task.memory)
    messages = _start(props.optional_text(ctx, task.systemMessage), memory.history, prompt)
    outcome = converse(ctx, model, chat, messages, tools_of(ctx, task.tools), None)
    outcome.sources = found
    memory.close(outcome.messages)
    result = outputs(ctx, outcome, chat)
    return {**result, "completion": result["textOutput"]}
