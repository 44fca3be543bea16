"""Pebble and Kestra filters on data: collections, JSON/YAML, jq and numbers."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import jq
import yaml

from controlplane.expr.errors import ExpressionError
from controlplane.expr.operators import equals, is_number
from controlplane.expr.values import jsonable, to_json, to_text


def first(value: Any) -> Any:
    if isinstance(value, str):
        return value[:1] or None
    items = _as_list(value, "first")
    return items[0] if items else None


def last(value: Any) -> Any:
    if isinstance(value, str):
        return value[-1:] or None
    items = _as_list(value, "last")
    return items[-1] if items else None


def length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | Mapping | list | tuple):
        return len(value)
    raise ExpressionError(f"length needs a string, a list or a map, not a {type(value).__name__}")


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    raise ExpressionError(f"{name} needs a list, not a {type(value).__name__}")


def join(value: Any, separator: str = "") -> str:
    return separator.join(to_text(item) for item in _as_list(value, "join"))


def keys(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.keys())
    return list(range(len(_as_list(value, "keys"))))


def values(value: Any) -> list[Any]:
    if not isinstance(value, Mapping):
        raise ExpressionError(f"values needs a map, not a {type(value).__name__}")
    return list(value.values())


def flatten(value: Any) -> list[Any]:
    """One level, as Kestra's FlattenFilter: list items that are lists are spliced in."""
    out: list[Any] = []
    for item in _as_list(value, "flatten"):
        out.extend(item if isinstance(item, list | tuple) else [item])
    return out


def chunk(value: Any, size: int) -> list[list[Any]]:
    if size < 1:
        raise ExpressionError("chunk size must be at least 1")
    items = _as_list(value, "chunk")
    return [items[i : i + size] for i in range(0, len(items), size)]


def distinct(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _as_list(value, "distinct"):
        if not any(equals(item, seen) for seen in out):
            out.append(item)
    return out


def merge(value: Any, items: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(items, Mapping):
        return {**value, **items}
    if isinstance(value, list | tuple):
        extra = list(items.items()) if isinstance(items, Mapping) else items
        return [*value, *(extra if isinstance(extra, list | tuple) else [extra])]
    raise ExpressionError("merge needs two maps, or a list and a list, map or value")


def reverse(value: Any) -> Any:
    if isinstance(value, str):
        return value[::-1]
    return list(reversed(_as_list(value, "reverse")))


def sort(value: Any, descending: bool = False) -> list[Any]:
    try:
        return sorted(_as_list(value, "sort"), reverse=descending)
    except TypeError as exc:
        raise ExpressionError("sort needs items of one comparable kind") from exc


def slice_(value: Any, fromIndex: int = 0, toIndex: int | None = None) -> Any:
    items = value if isinstance(value, str) else _as_list(value, "slice")
    end = len(items) if toIndex is None else toIndex
    if not 0 <= fromIndex <= end <= len(items):
        raise ExpressionError(f"slice({fromIndex}, {end}) is out of bounds for length {len(items)}")
    return items[fromIndex:end]


def abs_(value: Any) -> Any:
    if not is_number(value):
        raise ExpressionError("abs needs a number")
    return abs(value)


@lru_cache(maxsize=512)
def _jq_program(expression: str) -> Any:
    try:
        return jq.compile(expression)
    except ValueError as exc:
        raise ExpressionError(f"invalid jq expression '{expression}': {exc}") from exc


def jq_filter(value: Any, expression: str) -> list[Any] | None:
    """Kestra's ``jq``: a string is read as JSON first; the result is always a list."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise ExpressionError(f"jq: the input string is not JSON: {value[:80]!r}") from exc
    else:
        data = jsonable(value)
    try:
        return list(_jq_program(expression).input_value(data).all())
    except ValueError as exc:
        raise ExpressionError(f"failed to resolve the jq expression '{expression}': {exc}") from exc


def to_yaml(value: Any) -> str:
    text = yaml.safe_dump(jsonable(value), sort_keys=False, allow_unicode=True)
    return text.removesuffix("...\n")


_NUMBER_TYPES: dict[str, Callable[[str], Any]] = {
    "INT": int,
    "INTEGER": int,
    "LONG": int,
    "BIGINTEGER": int,
    "FLOAT": float,
    "DOUBLE": float,
    "BIGDECIMAL": Decimal,
}


def number(value: Any, type: str | None = None) -> Any:
    """Kestra's ``number``: text to a number, guessing integer or double without a type."""
    if is_number(value) and type is None:
        return value
    text = to_text(value).strip()
    try:
        if type is None:
            return int(text) if text.lstrip("+-").isdigit() else float(text)
        convert = _NUMBER_TYPES.get(type.upper())
        if convert is None:
            raise ExpressionError(f"unknown number type '{type}'")
        if convert is int and not text.lstrip("+-").isdigit():
            raise ValueError(text)
        return convert(text)
    except (ValueError, InvalidOperation) as exc:
        raise ExpressionError(f"'{text}' is not a number") from exc


def number_format(value: Any, format: str) -> str:
    """Java ``DecimalFormat`` for the common patterns: ``0``/``#`` digits, ``,`` grouping,
    ``.`` fraction, a ``%`` suffix; rounding half-even as Java does."""
    if not is_number(value):
        value = number(value)
    pattern = format
    scale = 100 if pattern.endswith("%") else 1
    core = pattern.rstrip("%")
    integer_part, _, fraction_part = core.partition(".")
    min_fraction = fraction_part.count("0")
    max_fraction = min_fraction + fraction_part.count("#")
    min_integer = integer_part.count("0")
    amount = Decimal(str(value)) * scale
    rounded = amount.quantize(Decimal(1).scaleb(-max_fraction), rounding=ROUND_HALF_EVEN)
    text = (
        f"{abs(rounded):,.{max_fraction}f}"
        if "," in integer_part
        else f"{abs(rounded):.{max_fraction}f}"
    )
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(min_fraction, "0")
    whole = whole.replace(",", "").zfill(min_integer) if "," not in integer_part else whole
    if min_integer == 0 and whole in ("0", "") and fraction:
        whole = ""
    sign = "-" if rounded < 0 else ""
    return sign + whole + ("." + fraction if fraction else "") + ("%" if scale == 100 else "")


def class_name(value: Any) -> str | None:
    """The Java class Kestra would hold for this value (its ``className`` filter)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    java = {
        str: "java.lang.String",
        float: "java.lang.Double",
        Decimal: "java.math.BigDecimal",
        dict: "java.util.LinkedHashMap",
        list: "java.util.ArrayList",
        dt.datetime: "java.time.ZonedDateTime",
        dt.date: "java.time.LocalDate",
    }
    for python_type, java_name in java.items():
        if isinstance(value, python_type):
            return java_name
    return type(value).__name__


DATA_FILTERS: dict[str, Callable[..., Any]] = {
    "abs": abs_,
    "chunk": chunk,
    "className": class_name,
    "distinct": distinct,
    "first": first,
    "flatten": flatten,
    "join": join,
    "jq": jq_filter,
    "json": to_json,
    "jsonEncode": to_json,
    "keys": keys,
    "last": last,
    "length": length,
    "merge": merge,
    "number": number,
    "numberFormat": number_format,
    "numberformat": number_format,
    "reverse": reverse,
    "rsort": lambda value: sort(value, descending=True),
    "slice": slice_,
    "sort": sort,
    "toIon": to_json,  # Ion text is a superset of JSON; JSON is valid Ion
    "toJson": to_json,
    "values": values,
    "yaml": to_yaml,
}
