"""Markdown to Notion blocks, as Kestra's Notion plugin renders a page's ``content``.

The Markdown is parsed as CommonMark with GFM tables and strikethrough (markdown-it-py), and
each block becomes its Notion block: headings (``#`` to ``###``; deeper ones are clamped to
``heading_3``), paragraphs, bulleted and numbered list items (``- [ ]`` / ``- [x]`` items are
``to_do`` blocks; nested lists become children), quotes, code blocks (the fence's language when
Notion knows it, else ``plain text``), dividers and tables. Inline bold, italic, strikethrough,
code and links become rich-text annotations and links. A text longer than Notion's 2,000
characters per rich-text object is split over several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

Block = dict[str, Any]

TEXT_LIMIT = 2000
_TASK = re.compile(r"^\[([ xX])\]\s+")
_LANGUAGES = frozenset(
    [
        "abap",
        "agda",
        "arduino",
        "assembly",
        "bash",
        "basic",
        "bnf",
        "c",
        "c#",
        "c++",
        "clojure",
        "coffeescript",
        "coq",
        "css",
        "dart",
        "dhall",
        "diff",
        "docker",
        "ebnf",
        "elixir",
        "elm",
        "erlang",
        "f#",
        "flow",
        "fortran",
        "gherkin",
        "glsl",
        "go",
        "graphql",
        "groovy",
        "haskell",
        "hcl",
        "html",
        "idris",
        "java",
        "javascript",
        "json",
        "julia",
        "kotlin",
        "latex",
        "less",
        "lisp",
        "livescript",
        "lua",
        "makefile",
        "markdown",
        "markup",
        "matlab",
        "mathematica",
        "mermaid",
        "nix",
        "objective-c",
        "ocaml",
        "pascal",
        "perl",
        "php",
        "powershell",
        "prolog",
        "protobuf",
        "purescript",
        "python",
        "r",
        "racket",
        "reason",
        "ruby",
        "rust",
        "sass",
        "scala",
        "scheme",
        "scss",
        "shell",
        "smalltalk",
        "solidity",
        "sql",
        "swift",
        "toml",
        "typescript",
        "verilog",
        "vhdl",
        "webassembly",
        "xml",
        "yaml",
    ]
) | {"ascii art", "llvm ir", "notion formula", "plain text", "vb.net", "visual basic"}
_ALIASES = {
    "js": "javascript", "jsx": "javascript", "node": "javascript", "ts": "typescript",
    "tsx": "typescript", "py": "python", "rb": "ruby", "rs": "rust", "kt": "kotlin", "cs": "c#",
    "cpp": "c++", "cxx": "c++", "objc": "objective-c", "golang": "go", "sh": "shell",
    "zsh": "shell", "yml": "yaml", "md": "markdown", "dockerfile": "docker", "proto": "protobuf",
    "htm": "html", "text": "plain text", "plain": "plain text", "plaintext": "plain text",
    "txt": "plain text",
}  # fmt: skip


@dataclass(frozen=True)
class _Style:
    bold: bool = False
    italic: bool = False
    strikethrough: bool = False
    code: bool = False
    href: str | None = None


def markdown_to_blocks(markdown: str) -> list[Block]:
    """The Notion blocks of ``markdown`` (none for blank text)."""
    if not markdown.strip():
        return []
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    tree = SyntaxTreeNode(parser.parse(markdown))
    blocks: list[Block] = []
    for node in tree.children:
        blocks += _blocks(node)
    return blocks


def _block(kind: str, body: dict[str, Any]) -> Block:
    return {"object": "block", "type": kind, kind: body}


def _blocks(node: SyntaxTreeNode) -> list[Block]:
    kind = node.type
    if kind == "heading":
        level = min(int(node.tag[1:]), 3)
        return [_block(f"heading_{level}", {"rich_text": _inline(node)})]
    if kind == "paragraph":
        return [_block("paragraph", {"rich_text": _inline(node)})]
    if kind in ("fence", "code_block"):
        text = node.content[:-1] if node.content.endswith("\n") else node.content
        body = {"rich_text": _texts(text, _Style()), "language": _language(node.info)}
        return [_block("code", body)]
    if kind in ("bullet_list", "ordered_list"):
        return [_list_item(item, kind == "ordered_list") for item in node.children]
    if kind == "blockquote":
        return [_with_children("quote", node.children)]
    if kind == "hr":
        return [_block("divider", {})]
    if kind == "table":
        return _table(node)
    rich = _inline(node)
    return [_block("paragraph", {"rich_text": rich})] if rich else []


def _with_children(kind: str, nodes: list[SyntaxTreeNode]) -> Block:
    """A block whose first paragraph is its text and the rest its children."""
    rich: list[dict[str, Any]] = []
    rest = nodes
    if nodes and nodes[0].type == "paragraph":
        rich, rest = _inline(nodes[0]), nodes[1:]
    children = [block for child in rest for block in _blocks(child)]
    body: dict[str, Any] = {"rich_text": rich}
    if children:
        body["children"] = children
    return _block(kind, body)


def _list_item(item: SyntaxTreeNode, ordered: bool) -> Block:
    block = _with_children("numbered_list_item" if ordered else "bulleted_list_item", item.children)
    kind = block["type"]
    rich = block[kind]["rich_text"]
    task = _TASK.match(rich[0]["text"]["content"]) if rich else None
    if task is None:
        return block
    rest = rich[0]["text"]["content"][task.end() :]
    rich = ([{**rich[0], "text": {**rich[0]["text"], "content": rest}}] if rest else []) + rich[1:]
    body = {**block[kind], "rich_text": rich, "checked": task.group(1) != " "}
    return _block("to_do", body)


def _table(node: SyntaxTreeNode) -> list[Block]:
    rows = [row for section in node.children for row in section.children if row.type == "tr"]
    cells = [[_inline(cell) for cell in row.children] for row in rows]
    width = max((len(row) for row in cells), default=0)
    if width == 0:
        return []
    children = [
        _block("table_row", {"cells": row + [[] for _ in range(width - len(row))]}) for row in cells
    ]
    body = {
        "table_width": width,
        "has_column_header": True,
        "has_row_header": False,
        "children": children,
    }
    return [_block("table", body)]


def _language(info: str) -> str:
    token = info.strip().split()[0].lower() if info.strip() else ""
    token = _ALIASES.get(token, token)
    return token if token in _LANGUAGES else "plain text"


def _inline(node: SyntaxTreeNode) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for child in node.children:
        _collect(child, _Style(), out)
    return out


def _collect(node: SyntaxTreeNode, style: _Style, out: list[dict[str, Any]]) -> None:
    kind = node.type
    if kind == "text":
        out += _texts(node.content, style)
    elif kind == "code_inline":
        out += _texts(node.content, replace(style, code=True))
    elif kind in ("softbreak", "hardbreak"):
        out += _texts("\n", style)
    elif kind == "html_inline":
        out += _texts(node.content, style)
    else:
        if kind == "strong":
            style = replace(style, bold=True)
        elif kind == "em":
            style = replace(style, italic=True)
        elif kind == "s":
            style = replace(style, strikethrough=True)
        elif kind == "link" and node.attrs.get("href"):
            style = replace(style, href=str(node.attrs["href"]))
        for child in node.children:
            _collect(child, style, out)


def _texts(content: str, style: _Style) -> list[dict[str, Any]]:
    """Rich-text objects of ``content``, at most TEXT_LIMIT characters each."""
    out = []
    for start in range(0, len(content), TEXT_LIMIT):
        text: dict[str, Any] = {"content": content[start : start + TEXT_LIMIT]}
        item: dict[str, Any] = {"type": "text", "text": text}
        if style.href:
            text["link"] = {"url": style.href}
            item["href"] = style.href
        item["annotations"] = {
            "bold": style.bold,
            "italic": style.italic,
            "strikethrough": style.strikethrough,
            "underline": False,
            "code": style.code,
            "color": "default",
        }
        out.append(item)
    return out
