"""A conversation with a model, independent of the provider: the messages, the tools the model
may call, the settings of one request and the model's reply.

Providers (:mod:`controlplane.tasks.ai.providers`) translate these to their APIs; the agent loop
(:mod:`controlplane.tasks.ai.agent`) builds them from a task's properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.ai import ChatConfiguration
from controlplane.tasks import props

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    role: Role
    text: str = ""
    calls: tuple[ToolCall, ...] = ()
    """The tools an assistant message asks for."""
    call: ToolCall | None = None
    """The call a tool message answers."""
    raw: Any = None
    """The provider's own form of an assistant message, sent back as it came (Gemini's
    thought signatures must be)."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Settings:
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    max_tokens: int | None = None
    json: bool = False
    json_schema: dict[str, Any] | None = None
    strict_json: bool = False
    thinking: bool = False
    thinking_budget: int | None = None
    thinking_off: bool = True
    """Gemini: with neither ``thinking`` nor a budget, send a budget of 0 (Kestra's AI plugin
    does, so that tool calls work on thinking models); else leave the model's default."""
    log_requests: bool = False
    log_responses: bool = False


@dataclass(frozen=True)
class Usage:
    input: int = 0
    output: int = 0
    total: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input + other.input, self.output + other.output, self.total + other.total)

    def as_output(self) -> dict[str, int]:
        return {
            "inputTokenCount": self.input,
            "outputTokenCount": self.output,
            "totalTokenCount": self.total,
        }


@dataclass(frozen=True)
class Reply:
    id: str | None
    text: str
    calls: tuple[ToolCall, ...]
    finish_reason: str
    """Kestra's names: STOP, LENGTH, TOOL_EXECUTION, CONTENT_FILTER, OTHER."""
    usage: Usage
    raw: Any = None
    thinking: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """What else the provider says of its answer (Gemini's safety ratings and citations)."""

    def as_message(self) -> Message:
        return Message("assistant", self.text, self.calls, raw=self.raw)


@dataclass
class Embedded:
    vectors: list[list[float]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


def settings(ctx: RunContext, *configurations: ChatConfiguration | None) -> Settings:
    """The settings of a request from chat configurations, the first giving a value winning."""
    given = [c for c in configurations if c is not None]

    def first(name: str) -> Any:
        return next((getattr(c, name) for c in given if getattr(c, name) is not None), None)

    def number(name: str) -> float | None:
        value = first(name)
        return None if value is None else float(props.text(ctx, value))

    def whole(name: str) -> int | None:
        value = first(name)
        return None if value is None else props.integer(ctx, value, name)

    def flag(name: str) -> bool:
        value = first(name)
        return value is not None and props.boolean(ctx, value)

    found = first("responseFormat")
    kind = props.text(ctx, found.type).upper() if found is not None else "TEXT"
    if kind not in ("TEXT", "JSON"):
        raise TaskFailed(f"responseFormat 'type' must be TEXT or JSON, not {kind!r}")
    schema = None
    if found is not None and found.jsonSchema is not None:
        if kind == "TEXT":
            raise TaskFailed("`jsonSchema` property is only allowed when `type` is `JSON`")
        schema = props.mapping(ctx, found.jsonSchema, "jsonSchema")
        description = props.optional_text(ctx, found.jsonSchemaDescription)
        if description:
            schema = {**schema, "description": description}
    return Settings(
        temperature=number("temperature"),
        top_p=number("topP"),
        top_k=whole("topK"),
        seed=whole("seed"),
        max_tokens=whole("maxToken"),
        json=kind == "JSON",
        json_schema=schema,
        strict_json=found is not None and props.boolean(ctx, found.strictJson),
        thinking=flag("thinkingEnabled"),
        thinking_budget=whole("thinkingBudgetTokens"),
        log_requests=flag("logRequests"),
        log_responses=flag("logResponses"),
    )
