"""The control plane as a task sees it: flows and namespace files written straight to the store.

The rules are the API's: a flow is validated before it is saved, an unchanged source makes no
new revision, and an object managed by another manager is refused unless ``force``. Each write
is its own unit of work, so a refusal changes nothing.

A reconcile (the git syncs) is a :class:`Plan`: a pure diff of a desired state against the
control plane, checked for other managers' objects before anything is written, then applied.
A deletion touches only objects that are unmanaged or the reconciler's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from controlplane.engine.housekeeping import StoreHousekeeping, StoreTaskCache
from controlplane.engine.ports import FlowRecord, NamespaceFileRecord, Store, namespace_file_path
from controlplane.engine.runnable import ControlPlane, TaskFailed
from controlplane.engine.schedule_state import POLL_TYPE
from controlplane.engine.writes import Refusal, WriteIntent, refusal, save_flow
from controlplane.spec.problems import Severity
from controlplane.spec.registry import Kind, imported, registry
from controlplane.spec.validate import validate_text


def _refused(found: Refusal) -> TaskFailed:
    return TaskFailed(found.message)


class StoreControlPlane(StoreHousekeeping, StoreTaskCache, ControlPlane):
    def __init__(self, store: Store) -> None:
        self.store = store

    def check_reach(self, namespace: str, what: str) -> None:
        """The whole control plane: every namespace is in reach."""

    def list_flows(self, namespace: str, include_children: bool = False) -> list[FlowRecord]:
        with self.store.unit(read_only=True) as repos:
            records = repos.flows.list_flows(namespace)
        return [
            r
            for r in records
            if r.namespace == namespace
            or (include_children and r.namespace.startswith(namespace + "."))
        ]

    def save_flow(self, source: str, manager: str | None, force: bool = False) -> FlowRecord:
        result = validate_text(source, "<flow>")
        if not result.ok or result.flow is None:
            errors = [p for p in result.problems if p.severity is Severity.ERROR]
            problems = "; ".join(str(p) for p in errors[:5]) or "not a flow"
            raise TaskFailed(f"flow {result.ref or '(unnamed)'} is not valid: {problems}")
        intent = WriteIntent(manager, force=force)
        with self.store.unit() as repos:
            return save_flow(repos, result.flow, source, intent, _refused).saved

    def delete_flow(self, namespace: str, flow_id: str) -> bool:
        with self.store.unit() as repos:
            return repos.flows.delete_flow(namespace, flow_id)

    def list_files(self, namespace: str) -> list[NamespaceFileRecord]:
        with self.store.unit(read_only=True) as repos:
            return repos.namespace_files.list_namespace_files(namespace)

    def toggle_trigger(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
        with self.store.unit() as repos:
            record = repos.flows.read_flow(namespace, flow_id)
            flow = validate_text(record.source, "<flow>").flow if record is not None else None
            if record is None or record.deleted or flow is None:
                raise TaskFailed(f"Unable to find flow {namespace}.{flow_id}")
            trigger = next((t for t in flow.triggers if getattr(t, "id", None) == trigger_id), None)
            if trigger is None:
                raise TaskFailed(
                    f"Unable to find trigger {trigger_id} for the flow {namespace}.{flow_id}"
                )
            stored = repos.triggers.read_trigger_state(namespace, flow_id, trigger_id, True)
            written = str(getattr(trigger, "type", ""))
            known = registry.resolve(Kind.TRIGGER, written)
            kind = known.name if known is not None else written
            polling = imported("polling")
            if polling is not None and isinstance(trigger, polling.PollingTrigger):
                kind = POLL_TYPE  # the polling loop keeps one kind of document for them all
            document = {"type": kind, **(stored or {}), "disabled": not enabled}
            if enabled:
                document.pop("stoppedBy", None)  # as Kestra: enabling undoes a stopAfter too
            repos.triggers.update_trigger_state(namespace, flow_id, trigger_id, document)

    def read_file(self, namespace: str, path: str) -> bytes | None:
        with self.store.unit(read_only=True) as repos:
            if repos.namespace_files.read_namespace_file(namespace, path) is None:
                return None
        with self.store.files.open(namespace_file_path(namespace, path)) as stream:
            return stream.read()

    def save_file(
        self, namespace: str, path: str, data: bytes, manager: str | None, force: bool = False
    ) -> NamespaceFileRecord:
        target = namespace_file_path(namespace, path)
        with self.store.unit() as repos:
            stored = repos.namespace_files.read_namespace_file(namespace, path)
            intent = WriteIntent(manager, force=force)
            found = refusal("file", f"{path} of namespace {namespace}", stored, intent)
            if found is not None:
                raise _refused(found)
            saved = repos.namespace_files.update_namespace_file(
                namespace, path, len(data), hashlib.sha256(data).hexdigest(), manager
            )
            if stored is None:
                self.store.files.delete_prefix(target)
            self.store.files.put(target, data)
        return saved

    def delete_file(self, namespace: str, path: str) -> bool:
        with self.store.unit() as repos:
            deleted = repos.namespace_files.delete_namespace_file(namespace, path)
            if deleted:
                self.store.files.delete_prefix(namespace_file_path(namespace, path))
        return deleted


# -- reconciling a desired state (git syncs) ------------------------------------------------------


@dataclass
class Change:
    """One object of a reconcile: what happens to it, decided before anything is written."""

    kind: Literal["flow", "file"]
    state: str
    """ADDED, UPDATED (a flow) / OVERWRITTEN (a file), UNCHANGED or DELETED."""
    namespace: str
    name: str
    """The flow id, or the file's path in the namespace."""
    origin: str | None
    """Where the desired content comes from (a path in git); None for a deletion."""
    payload: str | bytes | None = None
    manager: str | None = None
    """Who manages the object now (None: unmanaged, or new)."""
    revision: int | None = None
    """The flow revision after the change (predicted on a dry run)."""

    @property
    def writes(self) -> bool:
        return self.state not in ("UNCHANGED", "DELETED")


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    kept: list[Change] = field(default_factory=list)
    """Objects absent from the desired state that another manager owns: never deleted."""

    def refuse_foreign(self, manager: str, kind: str) -> None:
        """Fail, before any write, when a change would touch another manager's object."""
        foreign = [c for c in self.changes if c.writes and c.manager not in (None, manager)]
        if foreign:
            listed = "; ".join(f"{c.namespace}/{c.name} by '{c.manager}'" for c in foreign)
            raise TaskFailed(
                f"Nothing was synced: {len(foreign)} {kind} managed elsewhere would change "
                f"({listed}); change them where they are managed, or remove them from the source"
            )

    def apply(
        self,
        control: ControlPlane,
        manager: str,
        applied: Callable[[Change], None] = lambda change: None,
    ) -> None:
        """Write the changes in order; ``applied`` hears of each one once it is done."""
        for change in self.changes:
            if change.kind == "flow" and isinstance(change.payload, str) and change.writes:
                change.revision = control.save_flow(change.payload, manager).revision
            elif isinstance(change.payload, bytes) and change.writes:
                control.save_file(change.namespace, change.name, change.payload, manager)
            elif change.state == "DELETED" and change.kind == "flow":
                control.delete_flow(change.namespace, change.name)
            elif change.state == "DELETED":
                control.delete_file(change.namespace, change.name)
            applied(change)


def _prune(plan: Plan, stale: list[Change], manager: str) -> None:
    """Delete what is unmanaged or this manager's; keep other managers' objects."""
    for change in stale:
        target = plan.changes if change.manager in (None, manager) else plan.kept
        target.append(change)


def plan_files(
    control: ControlPlane,
    namespace: str,
    desired: Mapping[str, tuple[str, bytes]],
    manager: str,
    *,
    delete: bool,
    prefix: str = "",
) -> Plan:
    """Files of ``namespace`` made equal to ``desired`` (path -> (origin, content)); unchanged
    content (same sha256) is not rewritten; with ``delete``, files under ``prefix`` that are not
    desired go."""
    current = {r.path: r for r in control.list_files(namespace) if r.path.startswith(prefix)}
    plan = Plan()
    for path, (origin, data) in sorted(desired.items()):
        record = current.get(path)
        state = "ADDED"
        if record is not None:
            same = record.sha256 == hashlib.sha256(data).hexdigest()
            state = "UNCHANGED" if same else "OVERWRITTEN"
        owner = record.managed_by if record is not None else None
        plan.changes.append(Change("file", state, namespace, path, origin, data, owner))
    if delete:
        stale = [
            Change("file", "DELETED", namespace, path, None, manager=record.managed_by)
            for path, record in sorted(current.items())
            if path not in desired
        ]
        _prune(plan, stale, manager)
    return plan


@dataclass(frozen=True)
class DesiredFlow:
    namespace: str
    flow_id: str
    source: str
    origin: str


def plan_flows(
    control: ControlPlane,
    desired: Sequence[DesiredFlow],
    scope: str,
    manager: str,
    *,
    include_children: bool,
    delete: bool,
    keep: Callable[[str, str], bool] = lambda namespace, flow_id: False,
) -> Plan:
    """Flows saved from ``desired`` (validated by the caller); with ``delete``, the flows of
    ``scope`` (and its children) that are not desired go, except those ``keep`` names."""
    in_scope = {(r.namespace, r.flow_id): r for r in control.list_flows(scope, include_children)}
    current = dict(in_scope)
    for namespace in sorted({d.namespace for d in desired} - {scope}):
        current.update({(r.namespace, r.flow_id): r for r in control.list_flows(namespace)})
    plan = Plan()
    for flow in desired:
        record = current.get((flow.namespace, flow.flow_id))
        state, revision = "ADDED", 1
        if record is not None:
            same = _normalised(record.source) == _normalised(flow.source)
            state = "UNCHANGED" if same else "UPDATED"
            revision = record.revision if same else record.revision + 1
        owner = record.managed_by if record is not None else None
        plan.changes.append(
            Change(
                "flow", state, flow.namespace, flow.flow_id, flow.origin, flow.source, owner,
                revision,
            )
        )  # fmt: skip
    if delete:
        wanted = {(d.namespace, d.flow_id) for d in desired}
        stale = [
            Change("flow", "DELETED", ns, flow_id, None, manager=r.managed_by, revision=r.revision)
            for (ns, flow_id), r in sorted(in_scope.items())
            if (ns, flow_id) not in wanted and not keep(ns, flow_id)
        ]
        _prune(plan, stale, manager)
    return plan


def _normalised(source: str) -> str:
    return source.replace("\r\n", "\n").strip()
