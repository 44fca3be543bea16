"""A plan for people (text, Markdown for a pull request) and for programs (JSON)."""

from __future__ import annotations

import json
from typing import Any

from controlplane.gitops.diff import Change
from controlplane.gitops.flows import FieldChange
from controlplane.gitops.inventory import Key
from controlplane.gitops.plan import Plan

SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
_WIDTH = 72


def render(plan: Plan, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(as_json(plan), indent=2, default=str) + "\n"
    if fmt == "markdown":
        return markdown(plan)
    return text(plan)


def headline(plan: Plan) -> str:
    if plan.errors:
        return f"{len(plan.errors)} error(s): nothing can be applied until they are fixed"
    creates = sum(1 for c in plan.to_apply if c.action == "create")
    updates = sum(1 for c in plan.to_apply if c.action == "update")
    deletes = sum(1 for c in plan.to_apply if c.action == "delete")
    kept = ""
    if plan.diff.deletes and not plan.prune:
        kept = f", {len(plan.diff.deletes)} kept (prune off)"
    if not (creates or updates or deletes):
        return f"no changes: {plan.diff.unchanged} object(s) in sync{kept}"
    return (
        f"{creates} to create, {updates} to update, {deletes} to delete, "
        f"{plan.diff.unchanged} unchanged{kept}"
    )


def _source_line(plan: Plan) -> str:
    env = f", environment {plan.environment}" if plan.environment else ""
    return (
        f"source {plan.config.name} ({plan.checkout.location} @ {plan.checkout.revision}{env}), "
        f"written as {plan.manager}"
    )


def _value(value: Any) -> str:
    shown = json.dumps(value, default=str, ensure_ascii=False)
    return shown if len(shown) <= _WIDTH else shown[: _WIDTH - 1] + "…"


def _field_line(change: FieldChange) -> str:
    at = f" (line {change.line})" if change.line else ""
    if change.action == "add":
        return f"+ {change.path}{at}: {_value(change.after)}"
    if change.action == "remove":
        return f"- {change.path}: {_value(change.before)}"
    return f"~ {change.path}{at}: {_value(change.before)} → {_value(change.after)}"


def _details(plan: Plan, change: Change) -> list[str]:
    key = change.key
    if key.kind == "flow" and change.action == "update":
        fields = plan.fields.get(key, [])
        return [_field_line(f) for f in fields] or ["(formatting or comments only)"]
    if key.kind == "namespace" and change.action == "update" and change.desired:
        before = change.actual.value if change.actual else {}
        return [
            f"~ {name}: {_value(before.get(name))} → {_value(value)}"
            for name, value in (change.desired.value or {}).items()
            if before.get(name) != value
        ]
    if key.kind == "kv" and change.action == "update" and change.desired and change.actual:
        return [f"~ value: {_value(change.actual.value[1])} → {_value(change.desired.value[1])}"]
    if key.kind == "secret":
        return ["(sealed value changed)"] if change.action == "update" else []
    return []


def _where(change: Change) -> str:
    if change.desired is not None:
        return change.desired.origin.file
    owner = change.actual.managed_by if change.actual else None
    return f"not in the source (managed by {owner})"


def text(plan: Plan) -> str:
    lines = [f"Plan: {_source_line(plan)}", ""]
    for change in plan.diff.changes + (plan.diff.deletes if plan.prune else []):
        drift = "  [drift: changed in Weir since the last apply]" if change.drift else ""
        lines.append(f"  {SYMBOLS[change.action]} {change.key}  ({_where(change)}){drift}")
        lines += [f"      {line}" for line in _details(plan, change)]
    for change in plan.diff.conflicts:
        owner = change.actual.managed_by if change.actual else "?"
        lines.append(f"  ! {change.key}  (managed by {owner}; {_where(change)})")
    if plan.schedules:
        lines += ["", "Schedules that change:"]
        lines += [
            f"  {s.flow} trigger {s.trigger}: {s.before or '(none)'} → {s.after or '(none)'}"
            for s in plan.schedules
        ]
    if plan.diff.deletes and not plan.prune:
        lines += ["", "Kept on the server (no longer declared; prune is off, --prune deletes):"]
        lines += [f"  = {c.key}{_still(plan, c.key)}" for c in plan.diff.deletes]
    if plan.diff.protected:
        lines += ["", "Kept: in a protected namespace, never pruned:"]
        lines += [f"  {c.key}" for c in plan.diff.protected]
    if plan.errors:
        lines += ["", "Errors:"] + [f"  {e}" for e in plan.errors]
    if plan.warnings:
        lines += ["", "Warnings:"] + [f"  {w}" for w in plan.warnings]
    lines += ["", headline(plan) + "."]
    return "\n".join(lines) + "\n"


def markdown(plan: Plan) -> str:
    icon = "❌" if plan.errors else ("📝" if plan.to_apply else "✅")
    out = [f"### {icon} Weir plan: {headline(plan)}", "", f"_{_source_line(plan)}_", ""]
    if plan.errors:
        out += ["#### Errors", ""] + [f"- `{_code(e)}`" for e in plan.errors] + [""]
    rows = plan.diff.changes + (plan.diff.deletes if plan.prune else [])
    if rows:
        out += ["| | Object | File |", "|---|---|---|"]
        for change in rows:
            drift = " (drift)" if change.drift else ""
            out.append(f"| {SYMBOLS[change.action]} | `{change.key}`{drift} | {_where(change)} |")
        out.append("")
        for change in rows:
            details = _details(plan, change)
            if details:
                out += [
                    f"<details><summary><code>{change.key}</code></summary>",
                    "",
                    "```diff",
                    *details,
                    "```",
                    "</details>",
                    "",
                ]
    if plan.diff.conflicts:
        out += ["#### Conflicts", ""]
        out += [
            f"- `{c.key}` is managed by `{c.actual.managed_by if c.actual else '?'}`"
            for c in plan.diff.conflicts
        ] + [""]
    if plan.schedules:
        out += ["#### Schedules that change", "", "| Flow | Trigger | Before | After |"]
        out += ["|---|---|---|---|"]
        out += [
            f"| `{s.flow}` | {s.trigger} | `{s.before or '-'}` | `{s.after or '-'}` |"
            for s in plan.schedules
        ] + [""]
    if plan.diff.deletes and not plan.prune:
        out += ["#### Kept on the server: no longer declared, prune is off (`--prune` deletes)", ""]
        out += [f"- `{c.key}`{_still(plan, c.key)}" for c in plan.diff.deletes] + [""]
    if plan.warnings:
        out += ["#### Warnings", ""] + [f"- `{_code(str(w))}`" for w in plan.warnings] + [""]
    return "\n".join(out)


def _still(plan: Plan, key: Key) -> str:
    triggers = plan.kept.get(key)
    if not triggers:
        return ""
    return "; its triggers stay active: " + ", ".join(triggers)


def _code(text: str) -> str:
    return text.replace("`", "'")


def _key_json(key: Key) -> dict[str, str]:
    return {"kind": key.kind, "namespace": key.namespace, "name": key.name}


def _change_json(plan: Plan, change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {"action": change.action, **_key_json(change.key)}
    out["file"] = change.desired.origin.file if change.desired else None
    out["managed_by"] = change.actual.managed_by if change.actual else None
    out["revision"] = change.actual.revision if change.actual else None
    out["drift"] = change.drift
    if change.key in plan.fields:
        out["fields"] = [f.as_dict() for f in plan.fields[change.key]]
    return out


def as_json(plan: Plan) -> dict[str, Any]:
    return {
        "source": plan.config.name,
        "manager": plan.manager,
        "location": plan.checkout.location,
        "commit": plan.checkout.commit,
        "dirty": plan.checkout.dirty,
        "environment": plan.environment,
        "prune": plan.prune,
        "summary": headline(plan),
        "exit_code": plan.exit_code,
        "changes": [_change_json(plan, c) for c in plan.diff.changes],
        "deletes": [_change_json(plan, c) for c in plan.diff.deletes],
        "conflicts": [_change_json(plan, c) for c in plan.diff.conflicts],
        "protected": [_key_json(c.key) for c in plan.diff.protected],
        "unchanged": plan.diff.unchanged,
        "schedules": [vars(s) for s in plan.schedules],
        "kept": [
            {**_key_json(key), "active_triggers": triggers} for key, triggers in plan.kept.items()
        ],
        "contracts": [
            {"subflow": c.subflow, "caller": c.caller, "at": str(c.location), "message": c.message}
            for c in plan.contracts
        ],
        "problems": [p.as_dict() for p in plan.problems],
        "errors": plan.errors,
        "requests": plan.observed.requests,
    }
