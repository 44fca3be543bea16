"""Errors raised while checking or rendering a Pebble expression.

::

    WeirError
     └── ExpressionError              code "expression_error"
          ├── ExpressionSyntaxError   the template does not parse
          ├── UndefinedVariableError  strict mode: a variable or attribute is missing
          └── SandboxViolation        the template reached for something it may not touch

Every error carries the template source and, when known, a 1-based line and column within it.
"""

from __future__ import annotations

from controlplane.errors import WeirError


class ExpressionError(WeirError):
    """A Pebble expression could not be checked or rendered."""

    code = "expression_error"

    def __init__(
        self,
        message: str,
        template: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.template = template
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{self.message} ({where})"


class ExpressionSyntaxError(ExpressionError):
    """The template is not valid Pebble."""


class UndefinedVariableError(ExpressionError):
    """A variable or attribute the template uses is not in the context."""

    def __init__(
        self,
        message: str,
        path: str = "",
        template: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, template, line)
        self.path = path


class SandboxViolation(ExpressionError):
    """The template tried to reach Python internals, a forbidden tag or an unsafe amount of work."""
