"""Checks beyond the schema: what a valid shape can still get wrong.

Each check takes a validated flow (or the raw document) and returns problems; none raises. They
run in :mod:`controlplane.spec.validate` after the models accept the document.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

from controlplane.expr import ExpressionSyntaxError, check_syntax, has_expression
from controlplane.spec.flow import Flow
from controlplane.spec.inputs import INPUT_TYPES
from controlplane.spec.problems import Problem, YamlPath
from controlplane.spec.registry import imported
from controlplane.spec.source import SourceDocument

Check = Callable[[Flow, SourceDocument], Iterator[Problem]]

_CRON_ALIASES = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_UNCHECKED_KEYS = {"description", "extend"}


def unique_task_ids(flow: Flow, doc: SourceDocument) -> Iterator[Problem]:
    """Task ids are unique across the whole flow, at every level of nesting."""
    first: dict[str, YamlPath] = {}
    for path, task in flow.all_tasks():
        if task.id in first:
            where = doc.locate(first[task.id])
            yield Problem.error(
                doc.locate((*path, "id")),
                f"duplicate task id '{task.id}': already used on line {where.line}; "
                "task ids must be unique in the whole flow",
                "duplicate_id",
            )
        else:
            first[task.id] = path
    seen: set[str] = set()
    for index, trigger in enumerate(flow.triggers):
        trigger_id = getattr(trigger, "id", "")
        if trigger_id in seen:
            yield Problem.error(
                doc.locate(("triggers", index, "id")),
                f"duplicate trigger id '{trigger_id}'",
                "duplicate_id",
            )
        seen.add(trigger_id)


def unique_input_ids(flow: Flow, doc: SourceDocument) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, item in enumerate(flow.inputs):
        if item.id in seen:
            yield Problem.error(
                doc.locate(("inputs", index, "id")),
                f"duplicate input id '{item.id}'",
                "duplicate_id",
            )
        seen.add(item.id)


def input_defaults(flow: Flow, doc: SourceDocument) -> Iterator[Problem]:
    """A literal default must be a valid value of its own input."""
    for index, item in enumerate(flow.inputs):
        value = item.defaults
        if value is None or item.type == "FILE":
            continue
        if isinstance(value, str) and has_expression(value):
            continue
        try:
            item.coerce(value)
        except ValueError as exc:
            yield Problem.error(
                doc.locate(("inputs", index, "defaults")),
                f"default of {item.type} input '{item.id}' is invalid: {exc}",
                "invalid_default",
            )


def output_types(flow: Flow, doc: SourceDocument) -> Iterator[Problem]:
    for index, output in enumerate(flow.outputs):
        if output.type not in INPUT_TYPES:
            yield Problem.error(
                doc.locate(("outputs", index, "type")),
                f"unknown output type '{output.type}'; expected one of {', '.join(INPUT_TYPES)}",
                "invalid_value",
            )


def schedules(flow: Flow, doc: SourceDocument) -> Iterator[Problem]:
    """Cron expressions and time zones of Schedule triggers."""
    triggers = imported("triggers")
    if triggers is None:
        return
    for index, trigger in enumerate(flow.triggers):
        if not isinstance(trigger, triggers.Schedule):
            continue
        reason = cron_problem(trigger.cron, trigger.withSeconds)
        if reason:
            yield Problem.error(doc.locate(("triggers", index, "cron")), reason, "invalid_cron")
        if trigger.timezone is not None:
            try:
                zoneinfo.ZoneInfo(trigger.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                yield Problem.error(
                    doc.locate(("triggers", index, "timezone")),
                    f"unknown time zone '{trigger.timezone}'; expected an IANA name like "
                    "Europe/Paris or UTC",
                    "invalid_timezone",
                )


def cron_problem(cron: str, with_seconds: bool = False) -> str | None:
    """Why ``cron`` is not a valid Kestra cron expression, or None when it is."""
    text = cron.strip()
    if text.lower() in _CRON_ALIASES:
        return None
    fields = text.split()
    expected = 6 if with_seconds else 5
    if len(fields) != expected:
        shape = (
            "seconds minute hour day-of-month month day-of-week"
            if with_seconds
            else ("minute hour day-of-month month day-of-week")
        )
        return (
            f"invalid cron '{cron}': expected {expected} fields ({shape}) or a macro like "
            f"@daily, got {len(fields)}"
        )
    # croniter takes seconds as a trailing sixth field; Kestra puts them first.
    candidate = " ".join(fields[1:] + fields[:1]) if with_seconds else text
    from croniter import croniter  # a tenth of a second to import; only schedules need it

    if not croniter.is_valid(candidate):
        return f"invalid cron '{cron}': a field is out of range or malformed"
    return None


def dag_dependencies(flow: Flow, doc: SourceDocument) -> Iterator[Problem]:
    """Every ``dependsOn`` of a Dag names a sibling, and the graph has no cycle."""
    flowable = imported("flow")
    if flowable is None:
        return
    for path, task in flow.all_tasks():
        if not isinstance(task, flowable.Dag):
            continue
        ids = [item.task.id for item in task.tasks]
        graph: dict[str, list[str]] = {}
        for index, item in enumerate(task.tasks):
            graph[item.task.id] = item.dependsOn
            for dep_index, dep in enumerate(item.dependsOn):
                if dep not in ids:
                    yield Problem.error(
                        doc.locate((*path, "tasks", index, "dependsOn", dep_index)),
                        f"'{dep}' is not a task of this Dag; expected one of {', '.join(ids)}",
                        "invalid_reference",
                    )
        cycle = _cycle(graph)
        if cycle:
            yield Problem.error(
                doc.locate((*path, "tasks")),
                f"the Dag has a dependency cycle: {' -> '.join(cycle)}",
                "dag_cycle",
            )


def _cycle(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep in graph and dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


FLOW_CHECKS: tuple[Check, ...] = (
    unique_task_ids,
    unique_input_ids,
    input_defaults,
    output_types,
    schedules,
    dag_dependencies,
)


def expressions(doc: SourceDocument) -> Iterator[Problem]:
    """Every expression in the document parses (descriptions and blueprint metadata aside)."""
    for path, text in _strings(doc.data, ()):
        try:
            check_syntax(text)
        except ExpressionSyntaxError as exc:
            within = f" (line {exc.line} of the value)" if exc.line and exc.line > 1 else ""
            yield Problem.error(
                doc.locate(path),
                f"expression does not parse: {exc.message}{within}",
                "invalid_expression",
            )


def _strings(value: Any, path: YamlPath) -> Iterator[tuple[YamlPath, str]]:
    if isinstance(value, str):
        if has_expression(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _UNCHECKED_KEYS:
                yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
