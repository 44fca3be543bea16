"""Pebble's tests (``x is empty``...) plus Kestra's ``json``; ``defined`` and ``null`` live in
the runtime because they must accept an undefined value."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from controlplane.expr.errors import ExpressionError
from controlplane.expr.operators import is_number


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | list | tuple):
        return not value
    return False


def _parity(remainder: int) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        if not is_number(value) or value != int(value):
            raise ExpressionError("even and odd need an integer")
        return int(value) % 2 == remainder

    return test


def _json(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


PREDICATES: dict[str, Callable[..., bool]] = {
    "empty": _empty,
    "even": _parity(0),
    "odd": _parity(1),
    "iterable": lambda value: isinstance(value, list | tuple | Mapping),
    "map": lambda value: isinstance(value, Mapping),
    "json": _json,
}
