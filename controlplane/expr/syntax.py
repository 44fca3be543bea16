"""Cheap checks that need no context: does a string hold an expression, and does it parse."""

from __future__ import annotations

from controlplane.expr.translate import translate


def has_expression(text: str) -> bool:
    """True when the string holds a Pebble print or tag, so it has to be rendered."""
    return "{{" in text or "{%" in text


def check_syntax(text: str) -> None:
    """Raise ExpressionSyntaxError, with line and column, when ``text`` is not valid Pebble.

    Unknown filters and functions are not syntax errors: Kestra only fails them at render time.
    A successful translation is cached, so checking then rendering a string parses it once.
    """
    if not (("{" in text and has_expression(text)) or "{#" in text):
        return
    translate(text)
