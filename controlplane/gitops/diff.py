"""Diff: a pure function of two inventories and the rules of ownership.

Nothing here reads a file or makes a request. What the source declares and the server lacks is
created; what differs is updated (unless another manager owns it: a conflict); what the server
holds, this source manages and the source no longer declares is a delete — pruned only when
asked, and never in a protected namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controlplane.gitops.inventory import KINDS, Actual, Desired, Inventory, Key
from controlplane.spec.durations import parse_duration


@dataclass
class Change:
    action: str
    """create, update or delete."""
    key: Key
    desired: Desired | None
    actual: Actual | None
    drift: bool = False
    """The server's copy changed since this source last wrote it."""


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    """Creates and updates, in the order they are applied."""
    deletes: list[Change] = field(default_factory=list)
    """What this source manages and no longer declares, in the order it is deleted."""
    conflicts: list[Change] = field(default_factory=list)
    """Declared here, but managed by another manager."""
    protected: list[Change] = field(default_factory=list)
    """Would be deleted, but lie in a protected namespace."""
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.changes or self.deletes or self.conflicts)


def diff(
    desired: Inventory,
    actual: Inventory,
    *,
    manager: str,
    protects: Callable[[str], bool],
    last: Mapping[Key, int] | None = None,
) -> Diff:
    last = last or {}
    result = Diff()
    for key, want in desired.objects.items():
        have: Actual | None = actual.objects.get(key)
        if have is None:
            result.changes.append(Change("create", key, want, None, drift=key in last))
            continue
        if same(key.kind, want.value, have.value):
            result.unchanged += 1
            continue
        change = Change("update", key, want, have, drift=_drifted(key, have, last))
        if have.managed_by not in (None, manager):
            result.conflicts.append(change)
        else:
            result.changes.append(change)
    for key, have in actual.objects.items():
        if key in desired.objects or have.managed_by != manager:
            continue
        change = Change("delete", key, None, have)
        (result.protected if protects(key.namespace) else result.deletes).append(change)
    result.changes = order(result.changes)
    result.deletes = list(reversed(order(result.deletes)))
    return result


def _drifted(key: Key, have: Actual, last: Mapping[Key, int]) -> bool:
    return key in last and last[key] != have.revision


def same(kind: str, want: Any, have: Any) -> bool:
    if kind == "namespace":
        return want is None or want == have
    if kind == "kv":
        return _same_kv(want, have)
    return bool(want == have)


def _same_kv(want: tuple[str, Any], have: tuple[str, Any]) -> bool:
    (want_type, want_value), (have_type, have_value) = want, have
    if want_type != have_type:
        return False
    try:
        if want_type == "DURATION":
            return parse_duration(str(want_value)) == parse_duration(str(have_value))
        if want_type == "DATETIME":
            return _instant(want_value) == _instant(have_value)
    except ValueError:
        return False
    return bool(want_value == have_value)


def _instant(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def order(changes: list[Change]) -> list[Change]:
    """Namespaces (parents first), then secrets, KV pairs and files, then flows with every
    subflow before the flows that call it."""
    by_kind: dict[str, list[Change]] = {kind: [] for kind in KINDS}
    for change in changes:
        by_kind[change.key.kind].append(change)
    by_kind["namespace"].sort(key=lambda c: (c.key.namespace.count("."), c.key))
    for kind in ("secret", "kv", "file"):
        by_kind[kind].sort(key=lambda c: c.key)
    by_kind["flow"] = _callees_first(by_kind["flow"])
    return [change for kind in KINDS for change in by_kind[kind]]


def _callees_first(changes: list[Change]) -> list[Change]:
    """Kahn's algorithm over the subflow calls among ``changes``; ties in key order. A cycle
    (which validation reports) leaves its flows in key order at the end."""
    pending = {c.key: c for c in changes}
    calls: dict[Key, set[Key]] = {}
    for change in changes:
        callees = change.desired.calls if change.desired is not None else ()
        calls[change.key] = {k for k in callees if k in pending and k != change.key}
    done: list[Change] = []
    while pending:
        ready = sorted(k for k in pending if not (calls[k] & pending.keys()))
        if not ready:
            done.extend(pending[k] for k in sorted(pending))
            break
        for key in ready:
            done.append(pending.pop(key))
    return done
