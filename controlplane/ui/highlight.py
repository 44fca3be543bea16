"""YAML source as highlighted lines: comments, keys, strings, numbers and ``{{ expressions }}``.

A line-by-line tokenizer is enough for reading a flow, and keeps the UI free of a highlighting
library; every piece of text is escaped before it is wrapped.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z0-9_.@/-]+)(:)(?=\s|$)")
_TOKEN = re.compile(
    r"(?P<expr>\{\{.*?\}\}|\{%.*?%\})"
    r"|(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*')"
    r"|(?P<comment>(?:^|(?<=\s))#.*$)"
    r"|(?P<number>(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]))"
    r"|(?P<literal>(?<![\w.])(?:true|false|null)(?![\w.]))"
)


def highlight(source: str) -> list[Markup]:
    """One piece of markup per line of ``source``."""
    return [_line(line) for line in source.splitlines()]


def _line(line: str) -> Markup:
    head = Markup("")
    rest = line
    found = _KEY.match(line)
    if found and not line.lstrip().startswith("#"):
        indent, key, colon = found.groups()
        head = escape(indent) + Markup('<span class="y-key">') + escape(key) + Markup("</span>")
        head += escape(colon)
        rest = line[found.end() :]
    return head + _tokens(rest)


def _tokens(text: str) -> Markup:
    out = Markup("")
    last = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "text"
        out += escape(text[last : match.start()])
        out += Markup(f'<span class="y-{kind}">') + escape(match.group()) + Markup("</span>")
        last = match.end()
    return out + escape(text[last:])
