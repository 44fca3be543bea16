"""Strict, lazy undefined values.

A missing variable or attribute becomes a ``WeirUndefined`` that travels through attribute
access, filters, functions and operators unchanged, and raises ``UndefinedVariableError`` the
moment it is used (printed, compared, iterated, tested for truth). That is what lets ``??``,
``???``, ``default``, ``is defined`` and ``is null`` see a missing value anywhere along a chain
such as ``trigger.date ?? execution.startDate`` when ``trigger`` itself is absent.
"""

from __future__ import annotations

from typing import Any, NoReturn

from jinja2 import StrictUndefined, Undefined

from controlplane.expr.emit import VAR_PREFIX
from controlplane.expr.errors import UndefinedVariableError


class WeirUndefined(StrictUndefined):
    """Undefined whose ``_undefined_name`` is the Pebble path and whose hint is where it broke."""

    __slots__ = ()

    @property
    def path(self) -> str:
        name = self._undefined_name or ""
        return name if self._undefined_hint is not None else name.removeprefix(VAR_PREFIX)

    @property
    def first_missing(self) -> str:
        return self._undefined_hint if self._undefined_hint is not None else self.path

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        path, first = self.path, self.first_missing
        detail = "" if first == path else f" ('{first}' is missing)"
        raise UndefinedVariableError(
            f"Undefined variable '{path}'{detail}; use '??' or the 'default' filter for an "
            "optional value",
            path=path,
        )

    __str__ = __iter__ = __len__ = __bool__ = __hash__ = __contains__ = _fail_with_undefined_error
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _fail_with_undefined_error
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail_with_undefined_error
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _fail_with_undefined_error
    __mod__ = __rmod__ = __pos__ = __neg__ = __pow__ = __rpow__ = _fail_with_undefined_error
    __call__ = __getitem__ = __int__ = __float__ = __complex__ = _fail_with_undefined_error


def missing(path: str, first: str | None = None) -> WeirUndefined:
    """An undefined value for ``path``; ``first`` is the shorter path that was missing first."""
    return WeirUndefined(hint=first if first is not None else path, name=path)


def extend(value: Undefined, path: str) -> WeirUndefined:
    """The undefined value of ``path`` when its parent, ``value``, is already undefined."""
    if isinstance(value, WeirUndefined):
        return missing(path, value.first_missing)
    return missing(path)
