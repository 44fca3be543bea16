"""The helpers that translated templates call (``__weir_get``, ``__weir_call``...).

Every helper lets an undefined argument through untouched (see ``undefined.py``), so a missing
value only fails where it is used. Filters and functions are plain Python callables; one that
needs the render context is marked with :func:`needs_context` and receives the context mapping
given to ``Renderer.render`` as its first positional argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

from jinja2 import Undefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import is_internal_attribute

from controlplane.errors import WeirError
from controlplane.expr import operators
from controlplane.expr.budget import metered, spend
from controlplane.expr.errors import ExpressionError, SandboxViolation
from controlplane.expr.undefined import extend, missing
from controlplane.expr.values import is_truthy

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT_KEY = "__weir_context"
_CONTEXT_MARK = "weir_needs_context"


def needs_context(function: F) -> F:
    """Mark a function or filter to receive the render context as its first argument."""
    setattr(function, _CONTEXT_MARK, True)
    return function


class _Box:
    """Wraps a present value so that ``or`` in the emitted ``??`` keeps falsy values."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _first_undefined(values: Iterable[Any]) -> Undefined | None:
    for value in values:
        if isinstance(value, Undefined):
            return value
    return None


class Runtime:
    """The helpers of one Renderer: its filters, functions and limits."""

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]],
        filters: Mapping[str, Callable[..., Any]],
        tests: Mapping[str, Callable[..., bool]],
        max_output: int,
    ) -> None:
        self.functions = dict(functions)
        self.filters = dict(filters)
        self.tests = dict(tests)
        self.max_output = max_output

    def globals(self) -> dict[str, Any]:
        return {
            "__weir_get": self.get,
            "__weir_call": self.call,
            "__weir_filter": self.filter,
            "__weir_test": self.test,
            "__weir_op": self.op,
            "__weir_unary": self.unary,
            "__weir_contains": self.contains,
            "__weir_truthy": is_truthy,
            "__weir_box": self.box,
            "__weir_box_defined": self.box_defined,
            "__weir_unbox": self.unbox,
            "__weir_iter": self.iterate,
            "__weir_loop": self.loop,
            "__weir_method": self.method,
            "__weir_forbidden": self.forbidden,
            "__weir_unsupported": self.unsupported,
        }

    # -- access -----------------------------------------------------------------------------

    def get(self, obj: Any, key: Any, path: str) -> Any:
        spend()
        if isinstance(obj, Undefined):
            return extend(obj, path)
        if isinstance(key, Undefined):
            return key
        if isinstance(obj, Mapping):
            return _get_item(obj, key, path)
        if isinstance(key, str) and key.startswith("_"):
            raise SandboxViolation(f"access to '{key}' in '{path}' is not allowed")
        if isinstance(obj, list | tuple):
            return _get_index(obj, key, path)
        if obj is None or isinstance(obj, str | int | float | bool | bytes):
            return missing(path)
        return _get_public_attribute(obj, key, path)

    # -- calls --------------------------------------------------------------------------------

    @pass_context
    def call(self, context: Context, name: str, *args: Any, **kwargs: Any) -> Any:
        spend()
        function = self.functions.get(name)
        if function is None:
            raise ExpressionError(f"Unknown function '{name}'")
        undefined = _first_undefined([*args, *kwargs.values()])
        if undefined is not None:
            return undefined
        return _invoke("function", name, function, context, args, kwargs)

    @pass_context
    def filter(self, context: Context, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        spend()
        if name == "default":
            return _default(value, *args, **kwargs)
        function = self.filters.get(name)
        if function is None:
            raise ExpressionError(f"Unknown filter '{name}'")
        undefined = _first_undefined([value, *args, *kwargs.values()])
        if undefined is not None:
            return undefined
        return _invoke("filter", name, function, context, (value, *args), kwargs)

    def test(self, name: str, value: Any, *args: Any) -> bool:
        if name == "defined":
            return not isinstance(value, Undefined)
        if name == "null":
            return value is None or isinstance(value, Undefined)
        function = self.tests.get(name)
        if function is None:
            raise ExpressionError(f"Unknown test '{name}'")
        if isinstance(value, Undefined):
            str(value)  # raises the undefined-variable error
        return function(value, *args)

    def method(self, name: str) -> NoReturn:
        raise SandboxViolation(f"calling the method '{name}()' is not allowed in an expression")

    def forbidden(self, tag: str) -> NoReturn:
        raise SandboxViolation(f"the '{tag}' tag is not allowed: templates cannot load others")

    def unsupported(self, tag: str) -> NoReturn:
        raise ExpressionError(f"the '{tag}' tag is not supported by Weir")

    # -- operators ----------------------------------------------------------------------------

    def op(self, op: str, left: Any, right: Any) -> Any:
        spend()
        undefined = _first_undefined((left, right))
        if undefined is not None:
            return undefined
        if op in ("==", "equals"):
            return operators.equals(left, right)
        if op == "!=":
            return not operators.equals(left, right)
        if op in ("<", ">", "<=", ">="):
            return operators.compare(op, left, right)
        if op == "~":
            return operators.concat(left, right, self.max_output)
        if op == "..":
            return operators.inclusive_range(left, right)
        return operators.arithmetic(op, left, right)

    def unary(self, op: str, value: Any) -> Any:
        if isinstance(value, Undefined):
            return value
        return operators.negate(value) if op == "-" else value

    def contains(self, container: Any, item: Any) -> Any:
        undefined = _first_undefined((container, item))
        return undefined if undefined is not None else operators.contains(container, item)

    def box(self, value: Any) -> _Box | bool:
        return False if value is None or isinstance(value, Undefined) else _Box(value)

    def box_defined(self, value: Any) -> _Box | bool:
        return False if isinstance(value, Undefined) else _Box(value)

    def unbox(self, value: Any) -> Any:
        return value.value if isinstance(value, _Box) else value

    # -- loops --------------------------------------------------------------------------------

    def iterate(self, value: Any) -> Iterable[Any]:
        if isinstance(value, Undefined):
            str(value)  # raises the undefined-variable error
        if value is None:
            return ()
        if isinstance(value, Mapping):
            return metered([{"key": key, "value": item} for key, item in value.items()])
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ExpressionError(f"cannot loop over a {type(value).__name__}")
        return metered(value)

    def loop(self, jinja_loop: Any) -> dict[str, Any]:
        # Pebble's loop.index and loop.revindex count from 0, Jinja's from 1.
        return {
            "index": jinja_loop.index0,
            "revindex": jinja_loop.revindex0,
            "first": jinja_loop.first,
            "last": jinja_loop.last,
            "length": jinja_loop.length,
        }


def _get_item(obj: Mapping[Any, Any], key: Any, path: str) -> Any:
    try:
        if key in obj:
            return obj[key]
    except TypeError as exc:
        raise ExpressionError(f"'{path}': a {type(key).__name__} cannot be a map key") from exc
    # A JSON object's keys are strings even when the template indexes with a number.
    if isinstance(key, int) and not isinstance(key, bool) and str(key) in obj:
        return obj[str(key)]
    return missing(path)


def _get_index(obj: list[Any] | tuple[Any, ...], key: Any, path: str) -> Any:
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(obj):
        return obj[key]
    return missing(path)


def _get_public_attribute(obj: Any, key: Any, path: str) -> Any:
    name = str(key)
    if is_internal_attribute(obj, name):
        raise SandboxViolation(f"access to '{name}' in '{path}' is not allowed")
    value = getattr(obj, name, None) if hasattr(obj, name) else missing(path)
    if (callable(value) and not isinstance(value, Undefined)) or inspect.ismodule(value):
        raise SandboxViolation(f"'{path}' is a method; methods are not accessible")
    return value


def _default(value: Any, *args: Any, **kwargs: Any) -> Any:
    """Pebble's ``default``: replaces undefined, null, blank text and empty collections."""
    fallback = args[0] if args else kwargs.get("default")
    if isinstance(value, Undefined) or value is None:
        return fallback
    if isinstance(value, str) and not value.strip():
        return fallback
    if isinstance(value, Mapping | list | tuple) and not value:
        return fallback
    return value


def _invoke(
    kind: str,
    name: str,
    function: Callable[..., Any],
    context: Context,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    if getattr(function, _CONTEXT_MARK, False):
        args = (context.get(CONTEXT_KEY, {}), *args)
    try:
        return function(*args, **kwargs)
    except (WeirError, RecursionError):
        raise
    except TypeError as exc:
        raise ExpressionError(f"invalid arguments to the {kind} '{name}': {exc}") from exc
    except Exception as exc:  # a filter's own failure becomes the template's error
        raise ExpressionError(f"the {kind} '{name}' failed: {exc}") from exc
