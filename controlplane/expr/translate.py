"""Translates a Pebble template into Jinja2 source, checking its syntax on the way.

The translation keeps every newline of the source in place, so a line number Jinja reports is
the line of the Pebble template. Tags Weir refuses (``include``, ``import``, ``extends``...)
are valid Pebble, so they translate to a call that raises at render time, not to a syntax error;
unknown filters and functions likewise fail only when rendered, as in Kestra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from controlplane.expr.emit import VAR_PREFIX, Emitter
from controlplane.expr.lexer import Locator, Segment, lex
from controlplane.expr.parser import Captured, Filter, Node, Parser

_FORBIDDEN = frozenset({"include", "import", "from", "extends", "embed"})
_BODY_ONLY = frozenset({"cache", "parallel"})  # tags whose body renders as is
_CLOSERS = {
    "endif": "if",
    "endfor": "for",
    "endfilter": "filter",
    "endmacro": "macro",
    "endblock": "block",
    "endembed": "embed",
    "endautoescape": "autoescape",
    "endcache": "cache",
    "endparallel": "parallel",
}


@dataclass(frozen=True, slots=True)
class Translation:
    jinja: str
    # Jinja expression source when the template is one `{{ expr }}` with only whitespace around.
    single_expression: str | None


@dataclass(slots=True)
class _Open:
    tag: str
    pos: int
    closing: str = ""  # Jinja text emitted when the block closes


@dataclass(slots=True)
class _State:
    loc: Locator
    macros: frozenset[str]
    out: list[str] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    captures: int = 0

    def in_loop(self) -> bool:
        for frame in reversed(self.stack):
            if frame.tag == "macro":
                return False
            if frame.tag == "for":
                return True
        return False

    def emitter(self) -> Emitter:
        return Emitter(self.macros, self.in_loop())


@lru_cache(maxsize=8192)
def translate(source: str) -> Translation:
    """Pebble source to Jinja source; raises ExpressionSyntaxError on invalid Pebble."""
    loc = Locator(source)
    segments = lex(source)
    state = _State(loc, _macro_names(segments))
    single: str | None = None
    for seg in segments:
        if seg.kind == "text":
            state.out.append(seg.text)
        elif seg.kind == "raw":
            state.out.append(_raw(seg))
        elif seg.kind == "print":
            expr = _print_expression(seg, state)
            state.out.append(_wrap("{{", expr, "}}", seg, loc))
            single = expr
        else:
            state.out.append(_tag(seg, state))
    if state.stack:
        frame = state.stack[-1]
        raise loc.error(f"'{{% {frame.tag} %}}' is never closed with 'end{frame.tag}'", frame.pos)
    return Translation("".join(state.out), single if _is_single(segments) else None)


def _is_single(segments: list[Segment]) -> bool:
    prints = [seg for seg in segments if seg.kind == "print"]
    others = [seg for seg in segments if seg.kind != "print"]
    return (
        len(prints) == 1
        and not (prints[0].trim_left or prints[0].trim_right)
        and all(seg.kind == "text" and not seg.text.strip() for seg in others)
    )


def _macro_names(segments: list[Segment]) -> frozenset[str]:
    names = set()
    for seg in segments:
        tokens = seg.tokens
        if seg.kind == "tag" and len(tokens) > 1 and tokens[0].value == "macro":
            names.add(str(tokens[1].value))
    return frozenset(names)


def _print_expression(seg: Segment, state: _State) -> str:
    parser = Parser(seg.tokens, state.loc, seg.end - 2)
    node = parser.expression()
    parser.expect_done()
    return state.emitter().emit(node)


def _wrap(opener: str, body: str, closer: str, seg: Segment, loc: Locator) -> str:
    newlines = "\n" * loc.source.count("\n", seg.pos, seg.end)
    left = opener + ("-" if seg.trim_left else "")
    right = ("-" if seg.trim_right else "") + closer
    return f"{left} {body} {newlines}{right}"


def _raw(seg: Segment) -> str:
    inner_left, inner_right = (str(token.value) for token in seg.tokens)
    left = "{%-" if seg.trim_left else "{%"
    right = "-%}" if seg.trim_right else "%}"
    return f"{left} raw {inner_left}%}}{seg.text}{{%{inner_right} endraw {right}"


def _tag(seg: Segment, state: _State) -> str:
    if not seg.tokens:  # a trimming comment, or an empty tag
        if seg.end - seg.pos >= 4 and state.loc.source[seg.pos + 1] == "#":
            return _wrap("{#", "", "#}", seg, state.loc)
        raise state.loc.error("empty tag: expected a tag name after '{%'", seg.pos)
    parser = Parser(seg.tokens, state.loc, seg.end - 2)
    name = parser.expect_name("a tag name")
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(parser, seg, state)
    if name in _CLOSERS:
        return _close(name, parser, seg, state)
    if name in _FORBIDDEN:
        return _forbidden(name, parser, seg, state)
    if name in _BODY_ONLY:
        state.stack.append(_Open(name, seg.pos, _comment(seg, state)))
        return _comment(seg, state)
    raise state.loc.error(f"unknown tag '{name}'", seg.tokens[0].pos)


def _comment(seg: Segment, state: _State) -> str:
    # Stands in for a Pebble tag that outputs nothing, keeping its newlines and trimming.
    return _wrap("{#", "", "#}", seg, state.loc)


def _close(name: str, parser: Parser, seg: Segment, state: _State) -> str:
    opener = _CLOSERS[name]
    if name == "endblock" and not parser.done():
        parser.expect_name("a block name")
    parser.expect_done()
    if not state.stack or state.stack[-1].tag != opener:
        found = f"'{state.stack[-1].tag}'" if state.stack else "no open block"
        raise state.loc.error(f"'{name}' does not close {found}", seg.tokens[0].pos)
    frame = state.stack.pop()
    if opener in ("if", "for", "macro", "block"):
        return _wrap("{%", name, "%}", seg, state.loc)
    if opener == "filter":
        end = _wrap("{%", "endset", "%}", _untrimmed_right(seg), state.loc)
        right = "-}}" if seg.trim_right else "}}"
        return f"{end}{{{{ {frame.closing} {right}"
    return _comment(seg, state)


def _untrimmed_right(seg: Segment) -> Segment:
    return Segment(seg.kind, seg.pos, seg.end, seg.text, seg.tokens, seg.trim_left, False)


def _if(parser: Parser, seg: Segment, state: _State) -> str:
    test = state.emitter().emit(_whole_expression(parser))
    state.stack.append(_Open("if", seg.pos))
    return _wrap("{%", f"if __weir_truthy({test})", "%}", seg, state.loc)


def _elseif(parser: Parser, seg: Segment, state: _State) -> str:
    test = state.emitter().emit(_whole_expression(parser))
    _require_open(state, seg, "elseif", ("if",))
    return _wrap("{%", f"elif __weir_truthy({test})", "%}", seg, state.loc)


def _else(parser: Parser, seg: Segment, state: _State) -> str:
    parser.expect_done()
    _require_open(state, seg, "else", ("if", "for"))
    return _wrap("{%", "else", "%}", seg, state.loc)


def _require_open(state: _State, seg: Segment, tag: str, openers: tuple[str, ...]) -> None:
    if not state.stack or state.stack[-1].tag not in openers:
        allowed = " or ".join(f"'{o}'" for o in openers)
        raise state.loc.error(f"'{tag}' outside of {allowed}", seg.tokens[0].pos)


def _for(parser: Parser, seg: Segment, state: _State) -> str:
    variable = parser.expect_name("a loop variable name")
    parser.expect("in")
    iterable = state.emitter().emit(_whole_expression(parser))
    state.stack.append(_Open("for", seg.pos))
    body = f"for {VAR_PREFIX}{variable} in __weir_iter({iterable})"
    return _wrap("{%", body, "%}", seg, state.loc)


def _set(parser: Parser, seg: Segment, state: _State) -> str:
    variable = parser.expect_name("a variable name")
    parser.expect("=")
    value = state.emitter().emit(_whole_expression(parser))
    return _wrap("{%", f"set {VAR_PREFIX}{variable} = {value}", "%}", seg, state.loc)


def _filter(parser: Parser, seg: Segment, state: _State) -> str:
    state.captures += 1
    variable = f"__weir_captured{state.captures}"
    node: Node = Captured(seg.pos, variable)
    while True:
        name = parser.expect_name("a filter name")
        args, kwargs = parser.call_args() if parser.at("(") else ([], {})
        node = Filter(seg.pos, node, name, args, kwargs)
        if parser.done():
            break
        parser.expect("|")
    state.stack.append(_Open("filter", seg.pos, state.emitter().emit(node)))
    return _wrap("{%", f"set {variable}", "%}", seg, state.loc)


def _macro(parser: Parser, seg: Segment, state: _State) -> str:
    name = parser.expect_name("a macro name")
    parser.expect("(")
    params: list[str] = []
    while not parser.at(")"):
        param = VAR_PREFIX + parser.expect_name("a parameter name")
        if parser.at("="):
            parser.next()
            param += "=" + state.emitter().emit(parser.expression())
        params.append(param)
        if not parser.at(")"):
            parser.expect(",")
    parser.next()
    parser.expect_done()
    state.stack.append(_Open("macro", seg.pos))
    signature = f"macro {VAR_PREFIX}{name}({', '.join(params)})"
    return _wrap("{%", signature, "%}", seg, state.loc)


def _block(parser: Parser, seg: Segment, state: _State) -> str:
    name = parser.expect_name("a block name")
    parser.expect_done()
    state.stack.append(_Open("block", seg.pos))
    return _wrap("{%", f"block b_{name} scoped", "%}", seg, state.loc)


def _autoescape(parser: Parser, seg: Segment, state: _State) -> str:
    if not parser.done():
        _whole_expression(parser)
    state.stack.append(_Open("autoescape", seg.pos))
    return _wrap("{{", "__weir_unsupported('autoescape')", "}}", seg, state.loc)


def _flush(parser: Parser, seg: Segment, state: _State) -> str:
    parser.expect_done()
    return _comment(seg, state)


def _forbidden(name: str, parser: Parser, seg: Segment, state: _State) -> str:
    if name == "embed":
        state.stack.append(_Open("embed", seg.pos))
    return _wrap("{{", f"__weir_forbidden({name!r})", "}}", seg, state.loc)


def _whole_expression(parser: Parser) -> Node:
    node = parser.expression()
    parser.expect_done()
    return node


_HANDLERS: dict[str, Callable[[Parser, Segment, _State], str]] = {
    "if": _if,
    "elseif": _elseif,
    "else": _else,
    "for": _for,
    "set": _set,
    "filter": _filter,
    "macro": _macro,
    "block": _block,
    "autoescape": _autoescape,
    "flush": _flush,
}
