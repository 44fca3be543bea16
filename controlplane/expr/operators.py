"""Pebble's operators on Python values (Pebble's OperatorUtils and expression classes).

Numbers follow Java: an integer operation stays an integer (``7 / 2`` is ``3``, truncated
toward zero, as Pebble's ``longOperation`` does), a double anywhere makes the result a double,
and ``%`` takes the sign of the dividend. ``==`` compares numbers by value but never a boolean
with a number. Text concatenation (``~``) writes each side as ``{{ }}`` would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from controlplane.expr.errors import ExpressionError, SandboxViolation
from controlplane.expr.values import to_text

RANGE_LIMIT = 1_000_000  # elements a range or a list sum may produce


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def equals(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def compare(op: str, left: Any, right: Any) -> bool:
    comparable = (is_number(left) and is_number(right)) or type(left) is type(right)
    if not comparable or left is None:
        raise ExpressionError(
            f"cannot compare {_kind(left)} and {_kind(right)} with '{op}'; convert with the "
            "'number' filter first"
        )
    try:
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError as exc:
        raise ExpressionError(f"cannot compare {_kind(left)} values with '{op}'") from exc


def arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, list):
        result = [*left, *right] if isinstance(right, list) else [*left, right]
        if len(result) > RANGE_LIMIT:
            raise SandboxViolation(f"list longer than {RANGE_LIMIT} elements")
        return result
    if not (is_number(left) and is_number(right)):
        raise ExpressionError(
            f"'{op}' needs two numbers, got {_kind(left)} and {_kind(right)}; use '~' to join "
            "text or the 'number' filter to convert it"
        )
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0 and not isinstance(left, float) and not isinstance(right, float):
        raise ExpressionError(f"division by zero in '{op}'")
    if op == "/":
        return _divide(left, right)
    return _remainder(left, right)


def _divide(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if right == 0:
        return math.copysign(math.inf, left) if left else math.nan
    return left / right


def _remainder(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        return left - right * _divide(left, right)
    return math.fmod(left, right)


def negate(value: Any) -> Any:
    if not is_number(value):
        raise ExpressionError(f"unary '-' needs a number, got {_kind(value)}")
    return -value


def concat(left: Any, right: Any, limit: int) -> str:
    text = to_text(left) + to_text(right)
    if len(text) > limit:
        raise SandboxViolation(f"string longer than the {limit} character limit")
    return text


def inclusive_range(start: Any, end: Any, step: Any = 1) -> list[int]:
    """Pebble's ``a..b`` and ``range(a, b, step)``: both ends included."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end, step)):
        raise ExpressionError("a range needs integer bounds and step")
    if step == 0:
        raise ExpressionError("a range step cannot be 0")
    stop = end + (1 if step > 0 else -1)
    if len(range(start, stop, step)) > RANGE_LIMIT:
        raise SandboxViolation(f"range longer than {RANGE_LIMIT} elements")
    return list(range(start, stop, step))


def contains(container: Any, item: Any) -> bool:
    """Pebble's ``contains``: map keys, list members (all of them for a list), substrings."""
    if container is None:
        return False
    if isinstance(container, Mapping):
        return item in container
    if isinstance(container, list | tuple | set | frozenset):
        items = item if isinstance(item, list | tuple) else [item]
        return all(any(equals(member, wanted) for member in container) for wanted in items)
    if isinstance(container, str):
        return to_text(item) in container
    raise ExpressionError(f"'contains' needs a map, a list or a string, got {_kind(container)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"
