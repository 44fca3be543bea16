"""Kestra's expression language (Pebble) for Weir: syntax checks and sandboxed rendering.

``check_syntax`` validates a template without a context; ``Renderer`` renders one against a
context. Errors derive from ``ExpressionError`` (see ``errors.py``).
"""

from controlplane.expr.errors import (
    ExpressionError,
    ExpressionSyntaxError,
    SandboxViolation,
    UndefinedVariableError,
)
from controlplane.expr.renderer import Renderer
from controlplane.expr.runtime import needs_context
from controlplane.expr.syntax import check_syntax, has_expression
from controlplane.expr.values import is_truthy

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
