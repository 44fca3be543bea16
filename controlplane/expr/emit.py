"""Writes a parsed Pebble expression as Jinja2 expression source.

Jinja only supplies the skeleton (names, literals, conditionals, calls): every operator whose
Pebble semantics differ from Python's is emitted as a call to a runtime helper (see
``runtime.py``), so the rules live in Python, not in the emitted text. Template variables are
renamed ``v_<name>`` so that nothing a template can name collides with Jinja's own ``self``,
``loop``, ``caller``, or with the helpers, which all start with ``__weir_``.
"""

from __future__ import annotations

from controlplane.expr.parser import (
    Attr,
    BinOp,
    Call,
    Captured,
    Filter,
    ListLit,
    Literal,
    MapLit,
    Method,
    Name,
    Node,
    Ternary,
    Test,
    Unary,
)

VAR_PREFIX = "v_"
_OPERATOR_HELPER = frozenset(
    {"==", "equals", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "~", ".."}
)
_CONTAINMENT = {"contains": False, "in": True, "isIn": True, "not in": True}


class Emitter:
    """Emits one expression; knows the macros of the template and whether a loop is open."""

    def __init__(self, macros: frozenset[str], in_loop: bool) -> None:
        self.macros = macros
        self.in_loop = in_loop

    def emit(self, node: Node) -> str:
        if isinstance(node, Literal):
            return literal(node.value)
        if isinstance(node, Name):
            return self._name(node.name)
        if isinstance(node, Captured):
            return node.variable
        if isinstance(node, Attr):
            key = self.emit(node.key)
            return f"__weir_get({self.emit(node.obj)}, {key}, {node.path!r})"
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Method):
            return f"__weir_method({node.name!r})"
        if isinstance(node, Filter):
            args = self._args(node.args, node.kwargs)
            return f"__weir_filter({node.name!r}, {self.emit(node.obj)}{args})"
        if isinstance(node, Test):
            test = f"__weir_test({node.name!r}, {self.emit(node.obj)}{self._args(node.args, {})})"
            return f"(not {test})" if node.negated else test
        if isinstance(node, BinOp):
            return self._binop(node)
        if isinstance(node, Unary):
            return self._unary(node)
        if isinstance(node, Ternary):
            test = f"__weir_truthy({self.emit(node.test)})"
            return f"(({self.emit(node.yes)}) if {test} else ({self.emit(node.no)}))"
        if isinstance(node, ListLit):
            return "[" + ", ".join(self.emit(item) for item in node.items) + "]"
        if isinstance(node, MapLit):
            pairs = ", ".join(f"{self.emit(k)}: {self.emit(v)}" for k, v in node.pairs)
            return "{" + pairs + "}"
        raise TypeError(f"no emitter for {type(node).__name__}")

    def _name(self, name: str) -> str:
        if name == "loop" and self.in_loop:
            return "__weir_loop(loop)"
        return VAR_PREFIX + name

    def _call(self, node: Call) -> str:
        if node.name in self.macros:
            kwargs = {VAR_PREFIX + key: value for key, value in node.kwargs.items()}
            args = self._args(node.args, kwargs)
            return f"{VAR_PREFIX}{node.name}({args.removeprefix(', ')})"
        return f"__weir_call({node.name!r}{self._args(node.args, node.kwargs)})"

    def _args(self, args: list[Node], kwargs: dict[str, Node]) -> str:
        parts = [self.emit(arg) for arg in args]
        parts += [f"{key}={self.emit(value)}" for key, value in kwargs.items()]
        return "".join(", " + part for part in parts)

    def _binop(self, node: BinOp) -> str:
        left, right = self.emit(node.left), self.emit(node.right)
        if node.op == "and":
            return f"(__weir_truthy({left}) and __weir_truthy({right}))"
        if node.op == "or":
            return f"(__weir_truthy({left}) or __weir_truthy({right}))"
        if node.op == "??":
            # `or` keeps the right side lazy; the box keeps falsy values like 0 on the left.
            return f"__weir_unbox(__weir_box({left}) or ({right}))"
        if node.op == "???":
            return f"__weir_unbox(__weir_box_defined({left}) or ({right}))"
        if node.op in _CONTAINMENT:
            reverse = node.op != "contains"
            container, item = (right, left) if reverse else (left, right)
            test = f"__weir_contains({container}, {item})"
            return f"(not {test})" if node.op == "not in" else test
        if node.op in _OPERATOR_HELPER:
            return f"__weir_op({node.op!r}, {left}, {right})"
        raise TypeError(f"no emitter for operator {node.op}")

    def _unary(self, node: Unary) -> str:
        operand = self.emit(node.operand)
        if node.op == "not":
            return f"(not __weir_truthy({operand}))"
        return f"__weir_unary({node.op!r}, {operand})"


def literal(value: object) -> str:
    """A Python value as Jinja literal source (Jinja decodes Python-style escapes)."""
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return repr(value)
