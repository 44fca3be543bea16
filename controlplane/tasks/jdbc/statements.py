"""The SQL text of a task: statements, Kestra's ``:name`` parameters and one-line previews.

A ``;`` inside a string, a quoted identifier, a comment, a dollar-quoted body or a
``BEGIN ... END`` block does not split statements, and a ``:name`` there is not a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_PREVIEW = 120

_SPECIAL = re.compile(r"--|/\*|['\"$]")
_DOLLAR = re.compile(r"\$(?:[A-Za-z_]\w*)?\$")
_WORD = re.compile(r"[A-Za-z_]\w*|;")
_TRANSACTION_WORDS = {"TRANSACTION", "WORK", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "ISOLATION"}
_TRANSACTION_WORDS |= {"READ", "NOT", "DEFERRABLE", ";"}


def _segments(sql: str) -> Iterator[tuple[bool, str]]:
    """``(is_code, text)`` pieces of ``sql``: code, or a string, identifier, comment, body."""
    start = pos = 0
    while (found := _SPECIAL.search(sql, pos)) is not None:
        pos = found.start()
        end = _quoted_end(sql, pos)
        if end is None:
            pos += 1
            continue
        if pos > start:
            yield True, sql[start:pos]
        yield False, sql[pos:end]
        pos = start = end
    if start < len(sql):
        yield True, sql[start:]


def _quoted_end(sql: str, pos: int) -> int | None:
    """Where the string, identifier, comment or body starting at ``pos`` ends; None if none
    starts there (a ``$`` inside an identifier or a ``$1`` parameter)."""
    if sql.startswith("--", pos):
        newline = sql.find("\n", pos)
        return len(sql) if newline < 0 else newline
    if sql.startswith("/*", pos):
        return _block_comment_end(sql, pos)
    char = sql[pos]
    if char == "$":
        dollar = _DOLLAR.match(sql, pos)
        if dollar is None or not _word_start(sql, pos):
            return None
        closing = sql.find(dollar.group(0), dollar.end())
        return len(sql) if closing < 0 else closing + len(dollar.group(0))
    if char == "'" and pos > 0 and sql[pos - 1] in "eE" and _word_start(sql, pos - 1):
        return _escaped_string_end(sql, pos)
    index = pos + 1
    while (index := sql.find(char, index)) >= 0:
        if not sql.startswith(char * 2, index):
            return index + 1
        index += 2
    return len(sql)


def _word_start(sql: str, index: int) -> bool:
    return index == 0 or not (sql[index - 1].isalnum() or sql[index - 1] == "_")


def _block_comment_end(sql: str, pos: int) -> int:
    """The end of a ``/* */`` comment, which PostgreSQL lets nest."""
    depth, index = 0, pos
    while index < len(sql):
        if sql.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif sql.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(sql)


def _escaped_string_end(sql: str, pos: int) -> int:
    """The end of PostgreSQL's ``E'...'`` string, where a backslash escapes."""
    index = pos + 1
    while index < len(sql):
        if sql[index] == "\\" or sql.startswith("''", index):
            index += 2
        elif sql[index] == "'":
            return index + 1
        else:
            index += 1
    return len(sql)


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql`` without their ``;``; comment-only pieces are dropped."""
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    blocks = cases = 0
    pending_begin = False
    for is_code, text in _segments(sql):
        if not is_code:
            current.append(text)
            continue
        last = 0
        for match in _WORD.finditer(text):
            word = match.group(0).upper()
            if pending_begin:
                pending_begin = False
                blocks += word not in _TRANSACTION_WORDS
            if word == "BEGIN":
                pending_begin = True
            elif word == "CASE":
                cases += 1
            elif word == "END" and cases:
                cases -= 1
            elif word == "END" and blocks:
                blocks -= 1
            elif word == ";" and not blocks:
                current.append(text[last : match.start()])
                has_code = has_code or bool(text[last : match.start()].strip())
                if has_code:
                    statements.append("".join(current).strip())
                current, has_code, last, cases = [], False, match.end(), 0
        current.append(text[last:])
        has_code = has_code or bool(text[last:].strip())
    if has_code:
        statements.append("".join(current).strip())
    return statements


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def bind_named(
    sql: str, parameters: Mapping[str, Any], placeholder: str, escape_percent: bool
) -> tuple[str, list[Any] | None]:
    """``sql`` with each ``:name`` of ``parameters`` (outside strings and comments) replaced by
    the driver's positional ``placeholder``, and the values in that order."""
    if not parameters:
        return sql, None
    values: list[Any] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in parameters:
            return match.group(0)
        values.append(parameters[match.group(1)])
        return placeholder

    pieces = [
        _NAMED.sub(replace, _percent(text, escape_percent))
        if is_code
        else _percent(text, escape_percent)
        for is_code, text in _segments(sql)
    ]
    if not values:
        return sql, None
    return "".join(pieces), values


def _percent(text: str, escape: bool) -> str:
    return text.replace("%", "%%") if escape else text


def first_keyword(statement: str) -> str:
    """The first word of a statement's code, upper-case (``""`` when there is none)."""
    for is_code, text in _segments(statement):
        if is_code and (match := re.search(r"[A-Za-z_]\w*", text)):
            return match.group(0).upper()
    return ""


def statement_preview(statement: str) -> str:
    """A statement on one line, without its comments, cut at a readable length."""
    kept = (
        " " if not code and t.startswith(("--", "/*")) else t for code, t in _segments(statement)
    )
    flat = " ".join("".join(kept).split())
    return flat if len(flat) <= _PREVIEW else flat[: _PREVIEW - 3] + "..."
