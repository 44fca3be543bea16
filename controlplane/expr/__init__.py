"""Kestra's expression language (Pebble) for Weir: syntax checks and sandboxed rendering.

``check_syntax`` validates a template without a context; ``Renderer`` renders one against a
context. Errors derive from ``ExpressionError`` (see ``errors.py``).

Rendering needs Jinja2, which takes a noticeable share of a command's start-up; the names that
need it (``Renderer``, ``needs_context``, ``is_truthy``) are imported on first access, so that
validating a flow does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from controlplane.expr.errors import (
    ExpressionError,
    ExpressionSyntaxError,
    SandboxViolation,
    UndefinedVariableError,
)
from controlplane.expr.syntax import check_syntax, has_expression

if TYPE_CHECKING:
    from controlplane.expr.renderer import Renderer
    from controlplane.expr.runtime import needs_context
    from controlplane.expr.values import is_truthy

_LAZY = {
    "Renderer": "controlplane.expr.renderer",
    "needs_context": "controlplane.expr.runtime",
    "is_truthy": "controlplane.expr.values",
}

__all__ = [
    "ExpressionError",
    "ExpressionSyntaxError",
    "Renderer",
    "SandboxViolation",
    "UndefinedVariableError",
    "check_syntax",
    "has_expression",
    "is_truthy",
    "needs_context",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
