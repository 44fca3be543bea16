"""Rendering of dynamic properties (``Dyn*`` fields): a literal, or an expression to render."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.expr import is_truthy
from controlplane.spec.durations import DURATION_HINT, parse_duration


def text(ctx: RunContext, value: Any) -> str:
    rendered = ctx.render(value)
    return rendered if isinstance(rendered, str) else json.dumps(rendered)


def optional_text(ctx: RunContext, value: Any) -> str | None:
    return None if value is None else text(ctx, value)


def boolean(ctx: RunContext, value: Any) -> bool:
    return is_truthy(ctx.render_typed(value) if isinstance(value, str) else value)


def integer(ctx: RunContext, value: Any, name: str) -> int:
    """A whole-number property given as a number, or as an expression or text of one."""
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if isinstance(rendered, bool):
        raise TaskFailed(f"'{name}' must be a whole number, got {rendered!r}")
    try:
        return int(str(rendered).strip())
    except ValueError:
        raise TaskFailed(f"'{name}' must be a whole number, got {rendered!r}") from None


def duration(ctx: RunContext, value: timedelta | str, name: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    rendered = ctx.render_typed(value)
    if isinstance(rendered, int | float) and not isinstance(rendered, bool):
        return timedelta(seconds=rendered)
    try:
        return parse_duration(str(rendered))
    except ValueError:
        raise TaskFailed(f"'{name}' must be {DURATION_HINT}, got {rendered!r}") from None


def string_list(ctx: RunContext, value: list[str] | str | None, name: str) -> list[str]:
    """A list property given as a list, or as an expression or JSON text of a list."""
    if value is None:
        return []
    rendered = ctx.render_typed(value)
    if isinstance(rendered, str):
        stripped = rendered.strip()
        if not stripped.startswith("["):
            return [rendered]
        try:
            rendered = json.loads(stripped)
        except ValueError:
            raise TaskFailed(f"'{name}' must be a list, got {rendered!r}") from None
    if not isinstance(rendered, list):
        raise TaskFailed(f"'{name}' must be a list, got {type(rendered).__name__}")
    return [item if isinstance(item, str) else json.dumps(item) for item in rendered]


def mapping(ctx: RunContext, value: dict[str, Any] | str | None, name: str) -> dict[str, Any]:
    """A map property given as a map, or as an expression or JSON text of a map."""
    if value is None:
        return {}
    rendered = ctx.render_typed(value)
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except ValueError:
            raise TaskFailed(f"'{name}' must be a map, got {rendered!r}") from None
    if not isinstance(rendered, dict):
        raise TaskFailed(f"'{name}' must be a map, got {type(rendered).__name__}")
    return {str(k): v for k, v in rendered.items()}


def map_list(ctx: RunContext, value: list[Any] | str | None, name: str) -> list[dict[str, Any]]:
    """A list of maps given as a list, or as an expression or JSON text of one."""
    if value is None:
        return []
    rendered = ctx.render_typed(value) if isinstance(value, str) else ctx.render(value)
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered) if rendered.strip() else []
        except ValueError:
            raise TaskFailed(f"'{name}' must be a list of maps, got {rendered!r}") from None
    if not isinstance(rendered, list) or not all(isinstance(i, dict) for i in rendered):
        raise TaskFailed(f"'{name}' must be a list of maps")
    return [{str(k): v for k, v in item.items()} for item in rendered]
