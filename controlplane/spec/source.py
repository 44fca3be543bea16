"""Load one YAML flow document and remember where every value came from.

Flows are loaded through libyaml's composer (when available) and turned into plain Python values by
our own walk over the node graph, so that each mapping key, list item and scalar has its line and
column recorded under its YAML path. The walk also enforces the limits that keep bad input from
turning into a traceback or an endless expansion: size, nesting depth, node count (billion-laughs
aliases), duplicate keys and undecodable bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controlplane.spec.problems import Location, Problem, YamlPath

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000

_Loader: type[yaml.SafeLoader]
try:
    _Loader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml is part of PyYAML's wheels
    _Loader = yaml.SafeLoader

# Kestra reads YAML 1.2-style: "yes"/"no"/"on"/"off" are strings, not booleans. The resolver of
# the (C)SafeLoader follows YAML 1.1, so scalars are resolved here instead.
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = {"", "~", "null", "Null", "NULL"}


@dataclass
class SourceDocument:
    """A loaded document: its value, where each YAML path starts, and its text."""

    file: str
    text: str
    data: Any
    positions: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: YamlPath) -> Location:
        """The position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(path[:end])
            if pos is not None:
                return Location(self.file, pos[0], pos[1], path)
        return Location(self.file, 1, 1, path)


class SourceError(Exception):
    """The text is not a loadable YAML flow document; carries one problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def read_source(path: Path, display: str | None = None) -> SourceDocument:
    """Read and load the flow file at ``path``."""
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _fail(name, 1, 1, f"file is {size:,} bytes; a flow may be at most {MAX_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(name, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    return load_source(raw, name)


def load_source(raw: bytes | str, name: str = "<flow>") -> SourceDocument:
    """Load one flow document from bytes or text."""
    text = _decode(raw, name)
    if len(text) > MAX_BYTES:
        raise _fail(name, 1, 1, f"document is {len(text):,} characters; at most {MAX_BYTES:,}")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise _fail(name, line, 1, "binary content: the file contains NUL bytes, it is not YAML")
    root = _compose(text, name)
    if root is None:
        raise _fail(name, 1, 1, "the document is empty; a flow needs id, namespace and tasks")
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        line, col = _mark(root)
        raise _fail(name, line, col, f"the document is {kind}; a flow must be a mapping")
    builder = _Builder(name)
    data = builder.build(root, (), 0)
    return SourceDocument(file=name, text=text, data=data, positions=builder.positions)


def _decode(raw: bytes | str, name: str) -> str:
    if isinstance(raw, str):
        return raw
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _fail(name, line, col, "binary content: the file is not UTF-8 text") from None


def _compose(text: str, name: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.composer.ComposerError as exc:
        if "expected a single document" in str(exc):
            line, col = _mark_of(exc)
            raise _fail(
                name, line, col, "the file holds several YAML documents; a flow is exactly one"
            ) from None
        raise _yaml_problem(exc, name) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_problem(exc, name) from None
    except yaml.YAMLError as exc:
        raise _fail(name, 1, 1, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise _fail(name, 1, 1, f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    return root


def _yaml_problem(exc: yaml.MarkedYAMLError, name: str) -> SourceError:
    line, col = _mark_of(exc)
    if "maximum nesting depth" in str(exc.problem):
        # Newer PyYAML releases refuse very deep nesting in the parser, before the builder does.
        return _fail(name, line, col, f"nesting deeper than {MAX_DEPTH} levels")
    reason = " ".join(part for part in (exc.context, exc.problem) if part)
    return _fail(name, line, col, f"not valid YAML: {reason or 'cannot parse'}")


def _mark_of(exc: yaml.MarkedYAMLError) -> tuple[int, int]:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return 1, 1
    return mark.line + 1, mark.column + 1


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _fail(name: str, line: int, col: int, message: str) -> SourceError:
    return SourceError(Problem.error(Location(name, line, col, ()), message, code="yaml"))


class _Builder:
    """Turns a node graph into plain values, recording positions and enforcing limits."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: dict[YamlPath, tuple[int, int]] = {}
        self.nodes = 0

    def build(self, node: yaml.Node, path: YamlPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            line, col = _mark(node)
            raise _fail(self.name, line, col, f"more than {MAX_NODES:,} values (alias expansion?)")
        if depth > MAX_DEPTH:
            line, col = _mark(node)
            raise _fail(self.name, line, col, f"nesting deeper than {MAX_DEPTH} levels")
        self.positions.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: YamlPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in _merged_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                raise _fail(self.name, line, col, "a mapping key must be a plain value")
            key = _scalar(key_node)
            key = key if isinstance(key, str) else _key_text(key_node)
            line, col = _mark(key_node)
            if key in result:
                first = self.positions.get((*path, key), (line, col))[0]
                raise _fail(
                    self.name, line, col, f"duplicate key '{key}' (first given on line {first})"
                )
            self.positions[(*path, key)] = (line, col)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result


def _merged_pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """Pairs of a mapping with YAML merge keys (``<<: *anchor``) expanded, own keys last."""
    own: list[tuple[yaml.Node, yaml.Node]] = []
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged.extend(_merged_pairs(source))
            continue
        own.append((key_node, value_node))
    own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
    seen: set[Any] = set()
    for key_node, value_node in merged:
        if key_node.value in own_keys or key_node.value in seen:
            continue
        seen.add(key_node.value)
        yield key_node, value_node
    yield from own


def _key_text(node: yaml.ScalarNode) -> str:
    return str(node.value)


def _scalar(node: yaml.Node) -> Any:
    value: str = node.value
    tag = node.tag
    if tag == "tag:yaml.org,2002:str" or getattr(node, "style", None) in ("'", '"', "|", ">"):
        return value
    if tag == "tag:yaml.org,2002:bool":
        return _BOOL.get(value, value)
    if tag == "tag:yaml.org,2002:null":
        return None if value in _NULL else value
    if tag == "tag:yaml.org,2002:int":
        return _int(value)
    if tag == "tag:yaml.org,2002:float":
        return _float(value)
    if tag == "tag:yaml.org,2002:timestamp":
        return value  # kept as written; inputs and properties parse their own dates
    return value


def _int(value: str) -> Any:
    text = value.replace("_", "")
    try:
        if text.startswith(("0x", "-0x", "+0x")):
            return int(text, 16)
        if text.startswith(("0o", "-0o", "+0o")):
            return int(text, 8)
        return int(text, 10)
    except ValueError:
        return value


def _float(value: str) -> Any:
    lowered = value.lower().replace("_", "")
    if lowered in (".inf", "+.inf"):
        return float("inf")
    if lowered == "-.inf":
        return float("-inf")
    if lowered == ".nan":
        return float("nan")
    try:
        return float(lowered)
    except ValueError:
        return value
