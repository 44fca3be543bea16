"""Pebble expression parser: tokens in, a small AST out.

Precedence climbing with Pebble's own numbers (CoreExtension plus Kestra's ``??``/``???``):
``or`` 10, ``and`` 15, ``is``/``is not``/``contains``/``in`` 20, comparisons 30, ``+ -`` 40,
``* / %`` 60, ``|`` 100, ``~`` 110, ``..`` and ``??``/``???`` 120; the unary ``not + -`` parse
their operand at 500, so ``not a == b`` is ``(not a) == b`` as in Pebble. The ternary
``c ? a : b`` is only recognised at the outermost level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controlplane.expr.lexer import Locator, Token

BINARY: dict[str, int] = {
    "or": 10,
    "and": 15,
    "is": 20,
    "is not": 20,
    "contains": 20,
    "in": 20,
    "not in": 20,
    "isIn": 20,
    "==": 30,
    "equals": 30,
    "!=": 30,
    "<": 30,
    ">": 30,
    "<=": 30,
    ">=": 30,
    "+": 40,
    "-": 40,
    "*": 60,
    "/": 60,
    "%": 60,
    "|": 100,
    "~": 110,
    "..": 120,
    "??": 120,
    "???": 120,
}
_UNARY_PRECEDENCE = 500
_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None, "none": None}


@dataclass(slots=True)
class Node:
    pos: int


@dataclass(slots=True)
class Literal(Node):
    value: object


@dataclass(slots=True)
class Name(Node):
    name: str


@dataclass(slots=True)
class Attr(Node):
    obj: Node
    key: Node
    path: str  # the source text up to here, for error messages


@dataclass(slots=True)
class Call(Node):
    name: str
    args: list[Node] = field(default_factory=list)
    kwargs: dict[str, Node] = field(default_factory=dict)


@dataclass(slots=True)
class Method(Node):
    obj: Node
    name: str
    args: list[Node] = field(default_factory=list)
    kwargs: dict[str, Node] = field(default_factory=dict)


@dataclass(slots=True)
class Filter(Node):
    obj: Node
    name: str
    args: list[Node] = field(default_factory=list)
    kwargs: dict[str, Node] = field(default_factory=dict)


@dataclass(slots=True)
class Test(Node):
    obj: Node
    name: str
    negated: bool
    args: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(slots=True)
class Unary(Node):
    op: str  # "not", "-" or "+"
    operand: Node


@dataclass(slots=True)
class Ternary(Node):
    test: Node
    yes: Node
    no: Node


@dataclass(slots=True)
class Captured(Node):
    """The captured body of a ``{% filter %}`` block, held in a Jinja variable."""

    variable: str


@dataclass(slots=True)
class ListLit(Node):
    items: list[Node]


@dataclass(slots=True)
class MapLit(Node):
    pairs: list[tuple[Node, Node]]


class Parser:
    """Parses the tokens of one ``{{ }}`` or ``{% %}`` block (or part of one)."""

    def __init__(self, tokens: list[Token], loc: Locator, end_pos: int) -> None:
        self.tokens = tokens
        self.loc = loc
        self.index = 0
        self.end_pos = end_pos

    # -- token helpers ------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> Token | None:
        i = self.index + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def at(self, value: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind in ("op", "name") and token.value == value

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.loc.error("unexpected end of expression", self.end_pos)
        self.index += 1
        return token

    def expect(self, value: str) -> Token:
        token = self.peek()
        if token is None or token.kind not in ("op", "name") or token.value != value:
            raise self.error(f"expected '{value}'", token)
        self.index += 1
        return token

    def expect_name(self, what: str) -> str:
        token = self.peek()
        if token is None or token.kind != "name":
            raise self.error(f"expected {what}", token)
        self.index += 1
        return str(token.value)

    def done(self) -> bool:
        return self.index >= len(self.tokens)

    def expect_done(self) -> None:
        token = self.peek()
        if token is not None:
            raise self.error("unexpected token", token)

    def error(self, message: str, token: Token | None) -> Exception:
        if token is None:
            return self.loc.error(f"{message}, found the end of the expression", self.end_pos)
        return self.loc.error(f"{message}, found {_describe(token)}", token.pos)

    def source_from(self, pos: int) -> str:
        last = self.tokens[self.index - 1]
        return self.loc.source[pos : last.end]

    # -- expressions ---------------------------------------------------------------------------

    def expression(self, min_precedence: int = 0) -> Node:
        left = self._unary_or_primary()
        while True:
            op = self._binary_operator()
            if op is None or BINARY[op] < min_precedence:
                break
            self.index += len(op.split())
            left = self._binary(op, left)
        if min_precedence == 0 and self.at("?"):
            token = self.next()
            yes = self.expression()
            self.expect(":")
            left = Ternary(token.pos, left, yes, self.expression())
        return left

    def _binary_operator(self) -> str | None:
        token = self.peek()
        if token is None or token.kind not in ("op", "name"):
            return None
        value = str(token.value)
        if value == "is" and self.at("not", 1):
            return "is not"
        if value == "not" and self.at("in", 1):
            return "not in"
        return value if value in BINARY else None

    def _binary(self, op: str, left: Node) -> Node:
        pos = self.tokens[self.index - 1].pos
        if op in ("is", "is not"):
            name = self.expect_name("a test name after 'is'")
            args = self.call_args()[0] if self.at("(") else []
            return Test(pos, left, name, op == "is not", args)
        if op == "|":
            name = self.expect_name("a filter name after '|'")
            args, kwargs = self.call_args() if self.at("(") else ([], {})
            return Filter(pos, left, name, args, kwargs)
        right = self.expression(BINARY[op] + 1)
        return BinOp(pos, op, left, right)

    def _unary_or_primary(self) -> Node:
        token = self.peek()
        if token is not None and token.value in ("not", "-", "+") and token.kind != "string":
            self.index += 1
            operand = self.expression(_UNARY_PRECEDENCE)
            return Unary(token.pos, str(token.value), operand)
        return self._postfix(self._primary())

    def _primary(self) -> Node:
        token = self.next()
        if token.kind in ("number", "string"):
            return Literal(token.pos, token.value)
        if token.kind == "name":
            name = str(token.value)
            if name in _LITERALS:
                return Literal(token.pos, _LITERALS[name])
            if self.at("("):
                args, kwargs = self.call_args()
                return Call(token.pos, name, args, kwargs)
            return Name(token.pos, name)
        if token.value == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.value == "[":
            return ListLit(token.pos, self._sequence("]"))
        if token.value == "{":
            return self._map(token.pos)
        raise self.loc.error(f"unexpected {_describe(token)}", token.pos)

    def _postfix(self, node: Node) -> Node:
        start = node.pos
        while True:
            if self.at("."):
                self.index += 1
                key_token = self.next()
                if key_token.kind not in ("name", "number"):
                    raise self.error("expected an attribute name after '.'", key_token)
                if self.at("("):
                    args, kwargs = self.call_args()
                    node = Method(key_token.pos, node, str(key_token.value), args, kwargs)
                    continue
                key = Literal(key_token.pos, key_token.value)
                node = Attr(key_token.pos, node, key, self.source_from(start))
            elif self.at("["):
                bracket = self.next()
                key_node = self.expression()
                self.expect("]")
                node = Attr(bracket.pos, node, key_node, self.source_from(start))
            else:
                return node

    def _sequence(self, closer: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(closer):
            items.append(self.expression())
            if not self.at(closer):
                self.expect(",")
        self.next()
        return items

    def _map(self, pos: int) -> MapLit:
        pairs: list[tuple[Node, Node]] = []
        while not self.at("}"):
            key = self.expression()
            self.expect(":")
            pairs.append((key, self.expression()))
            if not self.at("}"):
                self.expect(",")
        self.next()
        return MapLit(pos, pairs)

    def call_args(self) -> tuple[list[Node], dict[str, Node]]:
        self.expect("(")
        args: list[Node] = []
        kwargs: dict[str, Node] = {}
        while not self.at(")"):
            token = self.peek()
            if token is not None and token.kind == "name" and self.at("=", 1):
                self.index += 2
                kwargs[str(token.value)] = self.expression()
            elif kwargs:
                raise self.error("a positional argument cannot follow a named one", token)
            else:
                args.append(self.expression())
            if not self.at(")"):
                self.expect(",")
        self.next()
        return args, kwargs


def _describe(token: Token) -> str:
    if token.kind == "string":
        return f"string {token.value!r}"
    return f"'{token.value}'"
