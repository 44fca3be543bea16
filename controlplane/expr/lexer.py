"""Pebble lexer: splits a template into text, print, tag and raw segments, and tokenizes the code.

Like Pebble's own lexer, a closing delimiter (``}}`` or ``%}``) ends an expression wherever a new
token could start, so ``{{ {'a': {'b': 1}} }}`` ends early in Pebble too; strings are single
tokens, so a ``}}`` inside a quoted string does not.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from controlplane.expr.errors import ExpressionSyntaxError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?[lL]?")
_OPERATORS = (
    "???",
    "??",
    "..",
    "==",
    "!=",
    "<=",
    ">=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "~",
    "|",
    "?",
    ":",
    ".",
    ",",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "=",
)
_OPEN = re.compile(r"\{[{%#]")
_RAW_END = {
    "raw": re.compile(r"\{%(-?)\s*endraw\s*(-?)%\}"),
    "verbatim": re.compile(r"\{%(-?)\s*endverbatim\s*(-?)%\}"),
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "name", "number", "string", "op" or "end"
    value: str | int | float
    pos: int
    end: int


@dataclass(slots=True)
class Segment:
    kind: str  # "text", "print", "tag" or "raw"
    pos: int
    end: int
    text: str = ""
    tokens: list[Token] = field(default_factory=list)
    trim_left: bool = False
    trim_right: bool = False


class Locator:
    """Turns offsets into 1-based line and column numbers."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def line_col(self, pos: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, pos) - 1
        return index + 1, pos - self._starts[index] + 1

    def error(self, message: str, pos: int) -> ExpressionSyntaxError:
        line, column = self.line_col(pos)
        return ExpressionSyntaxError(message, self.source, line, column)


def lex(source: str) -> list[Segment]:
    """Split a whole template into segments; raises ExpressionSyntaxError with a position."""
    loc = Locator(source)
    segments: list[Segment] = []
    pos = 0
    while pos < len(source):
        match = _OPEN.search(source, pos)
        if match is None:
            segments.append(Segment("text", pos, len(source), text=source[pos:]))
            break
        if match.start() > pos:
            segments.append(Segment("text", pos, match.start(), text=source[pos : match.start()]))
        opener = match.group()
        if opener == "{#":
            pos = _skip_comment(source, match.start(), loc, segments)
            continue
        seg = _lex_code(source, match.start(), "print" if opener == "{{" else "tag", loc)
        segments.append(seg)
        pos = seg.end
        if seg.kind == "tag" and seg.tokens and seg.tokens[0].value in _RAW_END:
            pos = _lex_raw(source, seg, loc, segments)
    return segments


def _skip_comment(source: str, start: int, loc: Locator, segments: list[Segment]) -> int:
    end = source.find("#}", start + 2)
    if end < 0:
        raise loc.error("unclosed comment: '{#' has no matching '#}'", start)
    # A comment may trim like a tag; keep it as an empty tag so trimming still applies.
    trim_left = source.startswith("{#-", start)
    trim_right = source[end - 1] == "-" and end - 1 > start + 2
    if trim_left or trim_right:
        segments.append(Segment("tag", start, end + 2, trim_left=trim_left, trim_right=trim_right))
    return end + 2


def _lex_raw(source: str, opening: Segment, loc: Locator, segments: list[Segment]) -> int:
    name = str(opening.tokens[0].value)
    if len(opening.tokens) > 1:
        raise loc.error(f"the '{name}' tag takes no arguments", opening.tokens[1].pos)
    segments.pop()
    closing = _RAW_END[name].search(source, opening.end)
    if closing is None:
        raise loc.error(f"'{{% {name} %}}' is never closed with '{{% end{name} %}}'", opening.pos)
    raw = Segment("raw", opening.pos, closing.end(), text=source[opening.end : closing.start()])
    raw.trim_left = opening.trim_left
    raw.trim_right = bool(closing.group(2))
    # The inner trims apply to the raw body's edges.
    raw.tokens = [
        Token("op", "-" if opening.trim_right else "", opening.end, opening.end),
        Token("op", "-" if closing.group(1) else "", closing.start(), closing.start()),
    ]
    segments.append(raw)
    return closing.end()


def _lex_code(source: str, start: int, kind: str, loc: Locator) -> Segment:
    close = "}}" if kind == "print" else "%}"
    pos = start + 2
    seg = Segment(kind, start, start)
    if source.startswith("-", pos):
        seg.trim_left = True
        pos += 1
    while True:
        while pos < len(source) and source[pos].isspace():
            pos += 1
        if pos >= len(source):
            opener = "{{" if kind == "print" else "{%"
            raise loc.error(f"'{opener}' is never closed with '{close}'", start)
        if source.startswith(close, pos):
            seg.end = pos + 2
            return seg
        if source.startswith("-" + close, pos):
            seg.trim_right = True
            seg.end = pos + 3
            return seg
        token = _next_token(source, pos, loc)
        seg.tokens.append(token)
        pos = token.end


def _next_token(source: str, pos: int, loc: Locator) -> Token:
    char = source[pos]
    if char in "'\"":
        end = _string_end(source, pos)
        if end < 0:
            raise loc.error("unterminated string literal", pos)
        return Token("string", _unescape(source[pos + 1 : end - 1], char), pos, end)
    number = _NUMBER.match(source, pos)
    if number is not None:
        text = number.group().rstrip("lL")
        value = float(text) if "." in text else int(text)
        return Token("number", value, pos, number.end())
    name = _NAME.match(source, pos)
    if name is not None:
        return Token("name", name.group(), pos, name.end())
    for op in _OPERATORS:
        if source.startswith(op, pos):
            return Token("op", op, pos, pos + len(op))
    raise loc.error(f"unexpected character {char!r}", pos)


def _string_end(source: str, pos: int) -> int:
    quote = source[pos]
    i = pos + 1
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == quote:
            return i + 1
        i += 1
    return -1


def _unescape(body: str, quote: str) -> str:
    # Pebble only unescapes the quote character and the backslash itself.
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in (quote, "\\"):
            out.append(body[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)
