"""What the flow pages show beyond the record: the start form's fields from the typed inputs,
the triggers with their state, callers, and the diff of two revisions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from controlplane.api.routers.triggers import TriggerStateOut
from controlplane.engine.ports import FlowRecord, Repositories, TriggerStateRecord

# Input type -> the HTML control that takes it.
CONTROLS = {
    "STRING": "text",
    "EMAIL": "email",
    "URI": "url",
    "INT": "number",
    "FLOAT": "number",
    "BOOLEAN": "checkbox",
    "BOOL": "checkbox",
    "DATETIME": "datetime-local",
    "DATE": "date",
    "TIME": "time",
    "SECRET": "password",
    "FILE": "file",
    "SELECT": "select",
    "ENUM": "select",
    "MULTISELECT": "select-multiple",
    "JSON": "textarea",
    "YAML": "textarea",
    "ARRAY": "textarea",
}


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    control: str
    required: bool
    description: str | None
    default: str
    values: list[str]
    step: str | None


def fields(data: dict[str, Any]) -> list[Field]:
    """One form field per declared input, in order."""
    found = []
    for item in data.get("inputs") or []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type", "STRING")).upper()
        default = item.get("defaults", item.get("default"))
        values = item.get("values") or []
        found.append(
            Field(
                id=str(item.get("id", item.get("name"))),
                type=kind,
                control=CONTROLS.get(kind, "text"),
                required=item.get("required", True) is not False and default is None,
                description=item.get("description") or item.get("displayName"),
                default="" if default is None or kind == "SECRET" else str(default),
                values=[str(v) for v in values] if isinstance(values, list) else [],
                step="any" if kind == "FLOAT" else None,
            )
        )
    return found


def resume_fields(data: dict[str, Any], paused: set[str]) -> list[Field]:
    """The form of the ``onResume`` inputs of the paused Pause tasks among ``paused``."""
    found: list[Field] = []
    for task in _tasks(data):
        if task.get("id") in paused and str(task.get("type", "")).endswith(".Pause"):
            found += fields({"inputs": task.get("onResume") or []})
    return found


def _tasks(value: Any) -> list[dict[str, Any]]:
    """Every task mapping in a flow's YAML, at any depth."""
    if isinstance(value, list):
        return [task for item in value for task in _tasks(item)]
    if not isinstance(value, dict):
        return []
    own = [value] if "id" in value and "type" in value else []
    return own + [task for item in value.values() for task in _tasks(item)]


@dataclass(frozen=True)
class Trigger:
    id: str
    type: str
    cron: str | None
    disabled: bool
    state: TriggerStateOut | None

    @property
    def schedule(self) -> bool:
        return self.type.endswith(".Schedule")


def triggers(data: dict[str, Any], states: list[TriggerStateRecord]) -> list[Trigger]:
    by_id = {state.trigger_id: TriggerStateOut.of_record(state) for state in states}
    found = []
    for item in data.get("triggers") or []:
        if not isinstance(item, dict):
            continue
        trigger_id = str(item.get("id"))
        cron = item.get("cron")
        found.append(
            Trigger(
                id=trigger_id,
                type=str(item.get("type", "")),
                cron=str(cron) if cron is not None else None,
                disabled=item.get("disabled") is True,
                state=by_id.get(trigger_id),
            )
        )
    return found


def callers(repos: Repositories, namespace: str, flow_id: str) -> list[tuple[str, str, str]]:
    """(namespace, id, how) of the flows that call this one, from the server's reference index
    (Subflow and ForEachItem tasks, Flow triggers)."""
    found = set()
    for item in repos.references.list_callers(namespace, flow_id):
        for reference in item.references:
            found.add((item.record.namespace, item.record.flow_id, reference.kind))
    return sorted(found)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "ctx" or "hunk"
    old: int | None
    new: int | None
    text: str


def diff(old: FlowRecord, new: FlowRecord) -> list[DiffLine]:
    """The unified diff of two revisions' sources, with line numbers on both sides."""
    a, b = old.source.splitlines(), new.source.splitlines()
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, a, b).get_grouped_opcodes(3):
        first_a, first_b = group[0][1], group[0][3]
        lines.append(DiffLine("hunk", None, None, f"@@ -{first_a + 1} +{first_b + 1} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine("ctx", i + 1, j + 1, a[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            lines += [DiffLine("del", i + 1, None, a[i]) for i in range(i1, i2)]
            lines += [DiffLine("add", None, j + 1, b[j]) for j in range(j1, j2)]
    return lines
