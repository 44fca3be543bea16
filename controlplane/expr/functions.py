"""The pure functions Weir provides itself (Pebble core and Kestra's context-free ones).

Functions that reach a service (``secret``, ``kv``, ``read``, ``fileURI``...) belong to the
engine, which passes them to ``Renderer(functions=...)``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import socket
import string
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from controlplane.expr import javatime
from controlplane.expr.errors import ExpressionError
from controlplane.expr.operators import inclusive_range, is_number
from controlplane.expr.runtime import needs_context
from controlplane.expr.values import to_text

_ID_ALPHABET = string.digits + string.ascii_letters


def from_json(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(to_text(text))
    except ValueError as exc:
        raise ExpressionError(f"fromJson: invalid JSON: {exc}") from exc


def from_yaml(text: Any) -> Any:
    try:
        return yaml.safe_load(to_text(text))
    except yaml.YAMLError as exc:
        raise ExpressionError(f"yaml: invalid YAML: {exc}") from exc


def now(timeZone: str | None = None) -> dt.datetime:
    return dt.datetime.now(javatime.zone(timeZone))


def range_(start: Any, end: Any, step: Any = 1) -> list[int]:
    return inclusive_range(start, end, step)


def _extreme(pick: Callable[..., Any], name: str) -> Callable[..., Any]:
    def extreme(*values: Any) -> Any:
        items = list(values[0]) if len(values) == 1 and isinstance(values[0], list) else values
        if not items or not all(is_number(item) for item in items):
            raise ExpressionError(f"{name} needs numbers")
        return pick(items)

    return extreme


def random_int(lower: int, upper: int) -> int:
    """A random integer in ``[lower, upper)``, as Kestra's randomInt."""
    if upper <= lower:
        raise ExpressionError("randomInt needs lower < upper")
    return lower + secrets.randbelow(upper - lower)


def random_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def short_id() -> str:
    """A 22-character base62 id from a random UUID, like Kestra's ``IdUtils.create()``."""
    number = uuid.uuid4().int
    chars: list[str] = []
    while number:
        number, digit = divmod(number, 62)
        chars.append(_ID_ALPHABET[digit])
    return "".join(reversed(chars)).rjust(22, "0")


@needs_context
def current_each_output(context: Mapping[str, Any], output: Any) -> Any:
    """The part of a looped task's outputs for the current iteration: ``outputs.t`` is keyed
    by the loop values from the outermost loop in, as Kestra's currentEachOutput walks it."""
    parents = context.get("parents") or []
    values = [(p.get("taskrun") or {}).get("value") for p in reversed(parents)]
    values.append((context.get("taskrun") or {}).get("value"))
    current = output
    for value in values:
        if value is None or not isinstance(current, Mapping) or value not in current:
            continue
        current = current[value]
    return current


PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "fromJson": from_json,
    "json": from_json,
    "jsonDecode": from_json,
    "fromIon": from_json,  # JSON is Ion text; Ion-only syntax is rejected as invalid
    "ionDecode": from_json,
    "yaml": from_yaml,
    "now": now,
    "range": range_,
    "max": _extreme(max, "max"),
    "min": _extreme(min, "min"),
    "uuid": lambda: str(uuid.uuid4()),
    "id": short_id,
    "randomInt": random_int,
    "randomPort": random_port,
    "currentEachOutput": current_each_output,
}
