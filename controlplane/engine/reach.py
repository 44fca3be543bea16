"""Which other namespaces a flow may reach: a namespace is a wall.

A flow of namespace ``C`` reaches what belongs to its own namespace. It reads the KV pairs and
secrets of ``C``'s ancestors, as lookups walk up the hierarchy. Anything else of a namespace
``T`` — its flows (Subflow, ForEachItem, Flow triggers, reading its executions), its KV pairs,
its namespace files — only when ``T`` lists ``C`` in its ``allowedNamespaces`` (the name Kestra
gives the setting). An entry allows that namespace and those below it; ``*`` allows every one.

A refusal names both namespaces and the setting to change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from controlplane.engine.control import StoreControlPlane
from controlplane.engine.model import State
from controlplane.engine.ports import (
    FlowRecord,
    LogEntry,
    NamespaceFileRecord,
    NamespaceRecord,
    Repositories,
    Store,
)
from controlplane.engine.runnable import Purge, TaskFailed
from controlplane.errors import WeirError
from controlplane.spec.validate import validate_text


class NamespaceRefused(WeirError):
    """A flow tried to reach a namespace that does not allow its own."""

    code = "namespace_refused"


def allows(allowed: Iterable[str], caller: str) -> bool:
    """Whether an ``allowedNamespaces`` list lets ``caller`` in."""
    return any(
        entry == "*" or caller == entry or caller.startswith(entry + ".") for entry in allowed
    )


def inherits(caller: str, target: str) -> bool:
    """Whether ``target`` is ``caller`` or one of its ancestors (KV and secrets walk up)."""
    return caller == target or caller.startswith(target + ".")


def may_reach(
    read_namespace: Callable[[str], NamespaceRecord | None],
    caller: str,
    target: str,
    *,
    inherited: bool = False,
) -> bool:
    """Whether a flow of ``caller`` may reach ``target``; ``inherited`` for reads of KV pairs
    (an ancestor's are readable without being allowed)."""
    if caller == target or (inherited and inherits(caller, target)):
        return True
    record = read_namespace(target)
    return record is not None and allows(record.allowed_namespaces, caller)


def refusal(caller: str, target: str, what: str) -> NamespaceRefused:
    return NamespaceRefused(
        f"namespace '{caller}' may not reach {what} of namespace '{target}': "
        f"'{target}' does not allow it. Add '{caller}' to the allowedNamespaces of namespace "
        f"'{target}' (API and Terraform: allowed_namespaces; GitOps: allowedNamespaces in its "
        "namespace file) if it should"
    )


def check_reach(
    repos: Repositories, caller: str, target: str, what: str, *, inherited: bool = False
) -> None:
    """Raise NamespaceRefused unless a flow of ``caller`` may reach ``what`` of ``target``."""
    if not may_reach(repos.namespaces.read_namespace, caller, target, inherited=inherited):
        raise refusal(caller, target, what)


class GuardedControlPlane(StoreControlPlane):
    """The control plane as a task of ``caller`` sees it: the flows, files, KV pairs, logs and
    executions of a namespace it may not reach are refused (TaskFailed naming both namespaces);
    a flow manages those of the namespaces below its own (git Sync tasks with children)."""

    def __init__(self, store: Store, caller: str) -> None:
        super().__init__(store)
        self.caller = caller

    def _check(self, namespace: str, what: str) -> None:
        if inherits(namespace, self.caller):  # its own, or one below it
            return
        with self.store.unit(read_only=True) as repos:
            check = may_reach(repos.namespaces.read_namespace, self.caller, namespace)
        if not check:
            raise TaskFailed(refusal(self.caller, namespace, what).message)

    def check_reach(self, namespace: str, what: str) -> None:
        self._check(namespace, what)

    def list_flows(self, namespace: str, include_children: bool = False) -> list[FlowRecord]:
        self._check(namespace, "the flows")
        return super().list_flows(namespace, include_children)

    def save_flow(self, source: str, manager: str | None, force: bool = False) -> FlowRecord:
        result = validate_text(source, "<flow>")
        if result.flow is not None:
            self._check(result.flow.namespace, "the flows")
        return super().save_flow(source, manager, force)

    def delete_flow(self, namespace: str, flow_id: str) -> bool:
        self._check(namespace, "the flows")
        return super().delete_flow(namespace, flow_id)

    def list_files(self, namespace: str) -> list[NamespaceFileRecord]:
        self._check(namespace, "the namespace files")
        return super().list_files(namespace)

    def read_file(self, namespace: str, path: str) -> bytes | None:
        self._check(namespace, "the namespace files")
        return super().read_file(namespace, path)

    def save_file(
        self, namespace: str, path: str, data: bytes, manager: str | None, force: bool = False
    ) -> NamespaceFileRecord:
        self._check(namespace, "the namespace files")
        return super().save_file(namespace, path, data, manager, force)

    def delete_file(self, namespace: str, path: str) -> bool:
        self._check(namespace, "the namespace files")
        return super().delete_file(namespace, path)

    def list_logs(self, execution_id: str) -> list[LogEntry]:
        entries = super().list_logs(execution_id)
        for namespace in {entry.namespace for entry in entries if entry.namespace}:
            self._check(namespace, "the executions")
        return entries

    def purge_logs(self, purge: Purge) -> int:
        return super().purge_logs(self._purge(purge))

    def purge_executions(self, purge: Purge, what: frozenset[str]) -> dict[str, int]:
        return super().purge_executions(self._purge(purge), what)

    def count_executions(
        self,
        namespaces: Sequence[str],
        flows: Sequence[tuple[str, str]],
        states: Sequence[State] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> dict[tuple[str, str], int]:
        for namespace in {*namespaces, *(namespace for namespace, _ in flows)}:
            self._check(namespace, "the executions")
        return super().count_executions(namespaces, flows, states, since, until)

    def purge_flow_revisions(
        self, namespace: str, flow_glob: str | None, keep: int | None, before: datetime | None
    ) -> int:
        self._check(namespace, "the flows")
        return super().purge_flow_revisions(namespace, flow_glob, keep, before)

    def toggle_trigger(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
        self._check(namespace, "the flows")
        super().toggle_trigger(namespace, flow_id, trigger_id, enabled)

    def purge_kv(self, namespace: str, key_pattern: str | None, expired_only: bool) -> list[str]:
        self._check(namespace, "the KV pairs")
        return super().purge_kv(namespace, key_pattern, expired_only)

    def list_namespaces(self) -> list[str]:
        with self.store.unit(read_only=True) as repos:
            read = repos.namespaces.read_namespace
            return [
                name
                for name in super().list_namespaces()
                if inherits(name, self.caller) or may_reach(read, self.caller, name)
            ]

    def _purge(self, purge: Purge) -> Purge:
        """A purge without a namespace purges the caller's own (and below), not every one."""
        if purge.namespace is None:
            return dataclasses.replace(purge, namespace=self.caller)
        self._check(purge.namespace, "the executions")
        return purge
