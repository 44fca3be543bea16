"""Reading Amazon Ion text, the format of Kestra's stored rows (one value per line).

The reader covers what Kestra writes and what users write by hand: null (typed nulls too),
booleans, integers (with ``_``, hex and binary), decimals, floats, timestamps, strings (short
and long), symbols, blobs and clobs, lists, s-expressions and structs; annotations are dropped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from controlplane.errors import WeirError


class IonError(WeirError):
    """The text is not valid Ion; the message says where."""

    code = "ion_invalid"


_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|(?:\d[\d_]*)(?:\.[\d_]*)?(?:[eEdD][+-]?\d+)?"
    r"|\.\d+(?:[eEdD][+-]?\d+)?)|[+-]inf|nan"
)
_TIMESTAMP = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?T?(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
                        r"(?:Z|[+-]\d{2}:\d{2})?")  # fmt: skip
_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'", "/": "/",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v", "?": "?"}  # fmt: skip
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}


def read_values(text: str) -> Iterator[Any]:
    """Every top-level value of ``text``, in order."""
    reader = _Reader(text)
    while True:
        reader.skip()
        if reader.pos >= len(text):
            return
        yield reader.value()


def read_value(text: str) -> Any:
    values = list(read_values(text))
    if len(values) != 1:
        raise IonError(f"expected one Ion value, found {len(values)}")
    return values[0]


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> IonError:
        line = self.text.count("\n", 0, self.pos) + 1
        return IonError(f"invalid Ion at line {line}: {what}")

    def skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace() or text[self.pos] == ",":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos)
                self.pos = len(text) if end < 0 else end + 2
            else:
                return

    def value(self) -> Any:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of text")
        char = self.text[self.pos]
        if char == "{":
            return self._blob() if self.text.startswith("{{", self.pos) else self._struct()
        if char in "[(":
            return self._sequence("]" if char == "[" else ")")
        if char == '"':
            return self._short_string()
        if char == "'":
            return self._quoted_symbol_or_long()
        return self._scalar()

    def _struct(self) -> dict[str, Any]:
        self.pos += 1
        result: dict[str, Any] = {}
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return result
            key = self.value()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':' after a struct field name")
            self.pos += 1
            result[str(key)] = self.value()

    def _sequence(self, close: str) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.text.startswith(close, self.pos):
                self.pos += 1
                return items
            items.append(self.value())

    def _blob(self) -> bytes:
        end = self.text.find("}}", self.pos)
        if end < 0:
            raise self.fail("a blob is not closed with '}}'")
        body = self.text[self.pos + 2 : end].strip()
        self.pos = end + 2
        if body.startswith('"') or body.startswith("'''"):
            return _Reader(body).value().encode("latin-1")  # type: ignore[no-any-return]
        return base64.b64decode("".join(body.split()))

    def _short_string(self) -> str:
        return self._until('"', self.pos + 1)

    def _quoted_symbol_or_long(self) -> Any:
        if not self.text.startswith("'''", self.pos):
            return self._annotated(self._until("'", self.pos + 1))
        parts = []
        while self.text.startswith("'''", self.pos):
            parts.append(self._until("'''", self.pos + 3))
            self.skip()
        return "".join(parts)

    def _until(self, quote: str, start: int) -> str:
        out: list[str] = []
        pos = start
        text = self.text
        while pos < len(text):
            if text.startswith(quote, pos):
                self.pos = pos + len(quote)
                return "".join(out)
            char = text[pos]
            if char == "\\":
                pos = self._escape(pos, out)
                continue
            out.append(char)
            pos += 1
        raise self.fail("a string is not closed")

    def _escape(self, pos: int, out: list[str]) -> int:
        code = self.text[pos + 1 : pos + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            return pos + 2
        if code == "\n":
            return pos + 2
        width = {"x": 2, "u": 4, "U": 8}.get(code)
        if width is None:
            raise self.fail(f"unknown escape '\\{code}'")
        out.append(chr(int(self.text[pos + 2 : pos + 2 + width], 16)))
        return pos + 2 + width

    def _scalar(self) -> Any:
        text = self.text
        if match := _TIMESTAMP.match(text, self.pos):
            token = match.group()
            if ("T" in token or token.count("-") >= 2) and len(token) >= 5:
                self.pos = match.end()
                return _timestamp(token)
        if match := _NUMBER.match(text, self.pos):
            end = match.end()
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                pass
            else:
                self.pos = end
                return _number(match.group())
        if match := _SYMBOL.match(text, self.pos):
            self.pos = match.end()
            word = match.group()
            if word == "null" and text.startswith(".", self.pos):
                typed = _SYMBOL.match(text, self.pos + 1)
                self.pos = typed.end() if typed else self.pos
                return None
            if word in _KEYWORDS:
                return _KEYWORDS[word]
            return self._annotated(word)
        raise self.fail(f"unexpected character {text[self.pos]!r}")

    def _annotated(self, symbol: str) -> Any:
        """A symbol, or the value it annotates (``name::value``: the annotation is dropped)."""
        self.skip()
        if self.text.startswith("::", self.pos):
            self.pos += 2
            return self.value()
        return symbol


def _number(token: str) -> Any:
    if token in ("+inf", "-inf", "nan"):
        return float(token.replace("nan", "nan"))
    clean = token.replace("_", "")
    lower = clean.lower()
    if lower.lstrip("+-").startswith(("0x", "0b")):
        return int(clean, 0)
    if "e" in lower:
        return float(lower)
    if "d" in lower:
        return Decimal(lower.replace("d", "e"))
    if "." in clean:
        return Decimal(clean)
    return int(clean)


def _timestamp(token: str) -> date | datetime:
    if "T" not in token or token.endswith("T"):
        parts = token.rstrip("T").split("-")
        return date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1,
                    int(parts[2]) if len(parts) > 2 else 1)  # fmt: skip
    text = token.replace("Z", "+00:00")
    if text.endswith("-00:00"):
        text = text[: -len("-00:00")]
    return datetime.fromisoformat(text)
