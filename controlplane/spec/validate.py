"""Validation of flow documents: one at a time, and as a set whose references must resolve.

``validate_source`` runs the models, then the checks of :mod:`controlplane.spec.checks`; it
returns the flow (when the models accepted it) with every problem found. ``validate_set`` adds
what needs the whole set: duplicate flows and Subflow / Flow-trigger references.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from controlplane.expr import has_expression
from controlplane.spec import checks
from controlplane.spec.flow import Flow, PluginDefault
from controlplane.spec.names import NAMESPACE_PATTERN
from controlplane.spec.problems import Location, Problem, Severity, YamlPath
from controlplane.spec.registry import Kind, imported, registry
from controlplane.spec.source import SourceDocument, SourceError, load_source, read_source


@dataclass
class Validated:
    """One document's outcome: the flow when its shape is valid, and every problem found."""

    file: str
    flow: Flow | None
    problems: list[Problem] = field(default_factory=list)
    source: SourceDocument | None = None

    @property
    def ref(self) -> str | None:
        """``namespace/id`` of the flow, read from the document even when it is invalid."""
        if self.flow is not None:
            return self.flow.ref
        data = self.source.data if self.source is not None else None
        if isinstance(data, dict):
            namespace, flow_id = data.get("namespace"), data.get("id")
            if isinstance(namespace, str) and isinstance(flow_id, str):
                return f"{namespace}/{flow_id}"
        return None

    @property
    def ok(self) -> bool:
        return self.flow is not None and not any(
            p.severity is Severity.ERROR for p in self.problems
        )


def validate_text(text: bytes | str, name: str = "<flow>") -> Validated:
    try:
        doc = load_source(text, name)
    except SourceError as exc:
        return Validated(name, None, [exc.problem])
    return validate_source(doc)


def validate_file(path: Path, display: str | None = None) -> Validated:
    try:
        doc = read_source(path, display)
    except SourceError as exc:
        return Validated(display or str(path), None, [exc.problem])
    return validate_source(doc)


def validate_source(doc: SourceDocument) -> Validated:
    problems: list[Problem] = []
    defaults = _plugin_defaults(doc, problems)
    flow: Flow | None = None
    try:
        flow = Flow.model_validate(doc.data, context={"plugin_defaults": defaults})
    except ValidationError as exc:
        problems.extend(_convert(error, doc) for error in exc.errors(include_url=False))
    problems.extend(checks.expressions(doc))
    if flow is not None:
        for check in checks.FLOW_CHECKS:
            problems.extend(check(flow, doc))
    problems.sort(key=lambda p: (p.location.line, p.location.column))
    return Validated(doc.file, flow, problems, doc)


def validate_set(results: list[Validated], owned: Iterable[str] = ()) -> list[Problem]:
    """Problems of the set: flows declared twice, references to flows that are not in it.

    A reference into a namespace listed in ``owned``, or below one (as ``weir.yaml`` owns
    namespaces), must resolve inside the set (an error);
    any other unresolved reference is a warning, since the flow may exist on the server.
    """
    owned_namespaces = set(owned)
    by_ref: dict[str, Validated] = {}
    problems: list[Problem] = []
    for result in results:
        if result.flow is None:
            continue
        ref = result.flow.ref
        if ref in by_ref:
            problems.append(
                Problem.error(
                    Location(result.file, 1, 1, ()),
                    f"flow {ref} is also declared in {by_ref[ref].file}",
                    "duplicate_flow",
                )
            )
        else:
            by_ref[ref] = result
    for result in results:
        if result.flow is None:
            continue
        for path, namespace, flow_id in flow_references(result.flow):
            if f"{namespace}/{flow_id}" in by_ref:
                continue
            problems.append(_missing(result, path, namespace, flow_id, owned_namespaces, by_ref))
    return problems


def _missing(
    result: Validated,
    path: YamlPath,
    namespace: str,
    flow_id: str,
    owned: set[str],
    known: dict[str, Validated],
) -> Problem:
    close = difflib.get_close_matches(f"{namespace}/{flow_id}", list(known), n=1, cutoff=0.8)
    hint = f"; did you mean {close[0]}?" if close else ""
    location = result.source.locate(path) if result.source else Location(result.file, 1, 1, path)
    if any(namespace == o or namespace.startswith(o + ".") for o in owned):
        return Problem.error(
            location,
            f"flow {namespace}/{flow_id} does not exist: namespace {namespace} is declared "
            f"here and has no flow '{flow_id}'{hint}",
            "missing_flow",
        )
    return Problem.warning(
        location,
        f"flow {namespace}/{flow_id} is not among the flows being validated; it must exist "
        f"on the server when this flow runs{hint}",
        "missing_flow",
    )


def flow_references(flow: Flow) -> Iterator[tuple[YamlPath, str, str]]:
    """Literal (expression-free) references to other flows: Subflow tasks and Flow triggers."""
    flowable = imported("flow")
    if flowable is not None:
        for path, task in flow.all_tasks():
            if isinstance(task, flowable.Subflow) and _literal(task.namespace, task.flowId):
                yield (*path, "flowId"), task.namespace, task.flowId
    triggers = imported("triggers")
    if triggers is None:
        return
    for index, trigger in enumerate(flow.triggers):
        if not isinstance(trigger, triggers.FlowTrigger):
            continue
        for c_index, condition in enumerate(trigger.conditions):
            if isinstance(condition, triggers.ExecutionFlow) and _literal(
                condition.namespace, condition.flowId
            ):
                path = ("triggers", index, "conditions", c_index, "flowId")
                yield path, condition.namespace, condition.flowId
        upstream = trigger.preconditions.flows if trigger.preconditions else []
        for f_index, item in enumerate(upstream):
            if item.flowId is not None and _literal(item.namespace, item.flowId):
                path = ("triggers", index, "preconditions", "flows", f_index, "flowId")
                yield path, item.namespace, item.flowId


def _literal(*values: str) -> bool:
    return not any(has_expression(value) for value in values)


def _plugin_defaults(doc: SourceDocument, problems: list[Problem]) -> list[PluginDefault]:
    """Plugin defaults, validated first: tasks are validated with them merged in."""
    data = doc.data if isinstance(doc.data, dict) else {}
    key = "pluginDefaults" if "pluginDefaults" in data else "taskDefaults"
    raw = data.get(key)
    if not isinstance(raw, list):
        return []
    defaults = []
    for item in raw:
        try:
            defaults.append(PluginDefault.model_validate(item))
        except ValidationError:
            continue  # reported with its path when the whole flow is validated
    return defaults


def _convert(error: ErrorDetails, doc: SourceDocument) -> Problem:
    path = _yaml_path(doc.data, error["loc"])
    kind = error["type"]
    location = doc.locate(path)
    if kind == "missing":
        parent = _node(doc.data, path[:-1])
        given = isinstance(parent, dict) and path[-1] in parent
        what = "must not be null" if given else "is required"
        message = f"property '{path[-1]}'{_of(doc.data, path[:-1])} {what}"
        return Problem.error(location, message, "missing")
    if kind == "extra_forbidden":
        return Problem.error(location, _unknown_property(doc.data, path), "unknown_property")
    if kind == "unknown_type":
        return Problem.error(location, error["msg"], "unknown_type")
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        message = (
            f"unknown type '{ctx.get('tag')}'; expected one of "
            f"{ctx.get('expected_tags', '').replace(chr(39), '')}"
        )
        return Problem.error(doc.locate((*path, "type")), message, "invalid_value")
    return Problem.error(location, _expected(error), "invalid_value")


def _yaml_path(data: Any, loc: tuple[int | str, ...]) -> YamlPath:
    """The pydantic location as a YAML path: union tags and validator names dropped."""
    path: list[str | int] = []
    node = data
    for part in loc:
        found, child = _child(node, part)
        if found:
            node = child
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part == loc[-1]:
            path.append(part)  # a missing key, reported at its parent
            node = None
    return tuple(path)


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _of(data: Any, path: YamlPath) -> str:
    node = _node(data, path)
    if isinstance(node, dict) and isinstance(node.get("type"), str):
        return f" of {node['type']}"
    return ""


def _node(data: Any, path: YamlPath) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _unknown_property(data: Any, path: YamlPath) -> str:
    key = str(path[-1]) if path else "?"
    parent = _node(data, path[:-1])
    known = _known_keys(parent, path[:-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) if known else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    given_by = "" if isinstance(parent, dict) and key in parent else " (given by pluginDefaults)"
    return f"unknown property '{key}'{_of(data, path[:-1])}{given_by}{hint}"


def _known_keys(parent: Any, path: YamlPath) -> list[str]:
    model: type[BaseModel] | None = None
    if not path:
        model = Flow
    elif isinstance(parent, dict) and isinstance(parent.get("type"), str):
        for kind in Kind:
            found = registry.resolve(kind, parent["type"])
            if found is not None:
                model = found.model
                break
    if model is None:
        return []
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


_PATTERNS = {
    r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$": "letters, digits, '_' and '-', starting with a letter or digit",
    r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$": (
        "letters, digits, '.', '_' and '-', starting with a letter or digit"
    ),
    NAMESPACE_PATTERN: (
        "parts of lower-case letters, digits, '_' and '-' joined by dots (like company.team), "
        "each part starting with a letter or digit"
    ),
    r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$": (
        "letters, digits, '.', '_' and '-', starting with a letter or digit"
    ),
}

_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}


def _expected(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind in _EXPECTED:
        message = _EXPECTED[kind]
    elif kind == "literal_error":
        message = "expected one of " + str(ctx.get("expected", "")).replace("'", "")
    elif kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        message = "expected " + _PATTERNS.get(pattern, f"text matching {pattern}")
    elif kind == "too_short":
        count = ctx.get("min_length", 1)
        message = f"expected at least {count} item{'s' * (count != 1)}"
    elif kind == "too_long":
        message = f"expected at most {ctx.get('max_length')} items"
    elif kind == "string_too_long":
        message = f"expected at most {ctx.get('max_length')} characters"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        message = error["msg"].replace("Input should be", "expected a value")
    else:
        message = error["msg"]
        for prefix in ("Input should be ", "Value error, "):
            if message.startswith(prefix):
                message = "expected " + message[len(prefix) :]
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and "got" not in message:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "...'"
        message += f", got {shown}"
    elif isinstance(value, list | dict) and kind in _EXPECTED:
        message += f", got a {'list' if isinstance(value, list) else 'mapping'}"
    return message
