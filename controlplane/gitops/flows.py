"""Flows: which file is which flow, and what a change to a flow means for review.

A file whose text is exactly the source the server holds in its namespace is that flow,
unchanged: it is neither parsed nor validated (the server validated it when it was saved).
Every other file is validated like ``weir validate`` does, with problems at file:line.

For review, a change is shown field by field (:func:`field_changes`), with the schedules it
changes (:func:`schedule_changes`); the subflow contracts it breaks are checked in
:mod:`controlplane.gitops.contracts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controlplane.gitops.actual import Observed
from controlplane.gitops.inventory import Desired, Key
from controlplane.gitops.load import FlowFile
from controlplane.spec.problems import Location, Problem, YamlPath, format_path
from controlplane.spec.source import SourceError, load_source

if TYPE_CHECKING:
    from controlplane.spec.validate import Validated

_NOT_SET = object()


@dataclass
class Resolved:
    desired: list[Desired] = field(default_factory=list)
    parsed: dict[Key, Validated] = field(default_factory=dict)
    """The flows that were validated: every one whose text the server does not hold."""
    problems: list[Problem] = field(default_factory=list)
    texts: dict[Key, str] = field(default_factory=dict)
    files: dict[Key, str] = field(default_factory=dict)


def resolve_flows(files: list[FlowFile], observed: Observed) -> Resolved:
    # Validation registers every task type: imported only when a flow needs validating.
    from controlplane.spec.validate import flow_references, validate_text

    held = {(key.namespace, flow.source): key for key, flow in observed.flows.items()}
    resolved = Resolved()
    where: dict[Key, str] = {}
    for item in files:
        key = held.get((item.namespace, item.text))
        if key is None:
            result = validate_text(item.text, item.file)
            resolved.problems.extend(result.problems)
            if result.flow is None:
                continue
            flow = result.flow
            if flow.namespace != item.namespace:
                location = _locate(result, ("namespace",))
                resolved.problems.append(
                    Problem.error(
                        location,
                        f"the flow declares namespace {flow.namespace} but lies in the "
                        f"directory of namespace {item.namespace}; move the file or fix the "
                        "namespace",
                        "wrong_namespace",
                    )
                )
                continue
            key = Key("flow", flow.namespace, flow.id)
            calls = tuple(Key("flow", ns, fid) for _, ns, fid in flow_references(flow))
            resolved.parsed[key] = result
        else:
            calls = ()
        if key in where:
            resolved.problems.append(
                Problem.error(
                    Location(item.file, 1, 1, ()),
                    f"flow {key.ref} is also declared in {where[key]}",
                    "duplicate_flow",
                )
            )
            continue
        where[key] = item.file
        resolved.texts[key] = item.text
        resolved.files[key] = item.file
        origin = Location(item.file, 1, 1, ())
        resolved.desired.append(Desired(key, item.text, origin, calls=calls))
    return resolved


def _locate(result: Validated, path: YamlPath) -> Location:
    if result.source is not None:
        return result.source.locate(path)
    return Location(result.file, 1, 1, path)


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    line: int | None
    """The line of the new value in the source file (of the old one for a removal)."""

    @property
    def action(self) -> str:
        if self.before is _NOT_SET:
            return "add"
        if self.after is _NOT_SET:
            return "remove"
        return "change"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "action": self.action, "line": self.line}
        if self.before is not _NOT_SET:
            out["before"] = self.before
        if self.after is not _NOT_SET:
            out["after"] = self.after
        return out


def field_changes(before_text: str | None, after_text: str | None) -> list[FieldChange]:
    """What differs between two flow sources, by YAML path. Lists whose items all have an
    ``id`` (tasks, inputs, triggers) are matched by id, so inserting a task is one addition,
    not a change of every task after it. An empty list with differing texts means the change
    is formatting or comments only."""
    before = _doc(before_text)
    after = _doc(after_text)
    found: list[FieldChange] = []
    positions = after[1] if after is not None else {}
    _compare(
        before[0] if before is not None else _NOT_SET,
        after[0] if after is not None else _NOT_SET,
        (),
        (),
        positions,
        found,
    )
    return found


def _doc(text: str | None) -> tuple[Any, dict[YamlPath, tuple[int, int]]] | None:
    if text is None:
        return None
    try:
        doc = load_source(text)
    except SourceError:
        return None
    return doc.data, doc.positions


def _compare(
    old: Any,
    new: Any,
    shown: tuple[str, ...],
    real: YamlPath,
    positions: dict[YamlPath, tuple[int, int]],
    out: list[FieldChange],
) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for name in [*old, *[k for k in new if k not in old]]:
            _compare(
                old.get(name, _NOT_SET),
                new.get(name, _NOT_SET),
                (*shown, _segment(name)),
                (*real, name),
                positions,
                out,
            )
        return
    if isinstance(old, list) and isinstance(new, list):
        if _all_have_ids(old) and _all_have_ids(new):
            old_by_id = {item["id"]: item for item in old}
            new_index = {item["id"]: i for i, item in enumerate(new)}
            for item_id in [*old_by_id, *[i for i in new_index if i not in old_by_id]]:
                index = new_index.get(item_id)
                _compare(
                    old_by_id.get(item_id, _NOT_SET),
                    new[index] if index is not None else _NOT_SET,
                    (*shown, f"[{item_id}]"),
                    (*real, index if index is not None else -1),
                    positions,
                    out,
                )
            return
        if len(old) == len(new):
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                _compare(a, b, (*shown, f"[{index}]"), (*real, index), positions, out)
            return
    if old == new and type(old) is type(new):
        return
    line = positions.get(real, (None, None))[0] if new is not _NOT_SET else None
    out.append(FieldChange(_join(shown), old, new, line))


def _all_have_ids(items: list[Any]) -> bool:
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    return (
        len(ids) == len(items)
        and all(isinstance(i, str) for i in ids)
        and len(set(ids)) == len(ids)
    )


def _segment(name: Any) -> str:
    return format_path((str(name),))


def _join(parts: tuple[str, ...]) -> str:
    text = ""
    for part in parts:
        text += part if part.startswith("[") or not text else "." + part
    return text or "(document)"


@dataclass(frozen=True)
class ScheduleChange:
    flow: str
    trigger: str
    before: str | None
    """``cron (timezone)``, None when the schedule did not exist or was disabled."""
    after: str | None


def schedule_changes(
    key: Key, before_text: str | None, after_text: str | None
) -> list[ScheduleChange]:
    before = _schedules(before_text)
    after = _schedules(after_text)
    return [
        ScheduleChange(key.ref, trigger, before.get(trigger), after.get(trigger))
        for trigger in sorted(before.keys() | after.keys())
        if before.get(trigger) != after.get(trigger)
    ]


def active_triggers(text: str | None) -> list[str]:
    """The triggers of a flow that still fire: ``id (Schedule 0 5 * * *)``, ``id (Flow)``...;
    none when the flow is disabled."""
    parsed = _doc(text)
    if parsed is None or not isinstance(parsed[0], dict) or parsed[0].get("disabled") is True:
        return []
    found: list[str] = []
    for trigger in parsed[0].get("triggers") or []:
        if not isinstance(trigger, dict) or trigger.get("disabled") is True:
            continue
        kind = str(trigger.get("type", "?")).rsplit(".", 1)[-1]
        cron = f" {trigger['cron']}" if "cron" in trigger else ""
        found.append(f"{trigger.get('id')} ({kind}{cron})")
    return found


def _schedules(text: str | None) -> dict[str, str]:
    parsed = _doc(text)
    if parsed is None or not isinstance(parsed[0], dict):
        return {}
    found: dict[str, str] = {}
    flow_disabled = parsed[0].get("disabled") is True
    for trigger in parsed[0].get("triggers") or []:
        if not isinstance(trigger, dict) or not str(trigger.get("type", "")).endswith("Schedule"):
            continue
        if flow_disabled or trigger.get("disabled") is True:
            continue
        cron = trigger.get("cron", "?")
        zone = trigger.get("timezone")
        found[str(trigger.get("id"))] = f"{cron} ({zone})" if zone else str(cron)
    return found
