"""Apply: write a plan's changes in order, each with ``If-Match``, and prune when asked.

A write refused with 409 means the object changed since it was read: it is read again and the
change decided anew — already as declared (another reconciler wrote it), managed elsewhere now
(a conflict), or written again on the new revision. Nothing is written on a stale read, so two
reconcilers racing lose no update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controlplane.client.errors import ClientError, Conflict, NotFound, Unreachable
from controlplane.gitops.diff import Change, same
from controlplane.gitops.errors import GitOpsError, Stalled, Transient, Waiting
from controlplane.gitops.inventory import Actual, Desired, Key

if TYPE_CHECKING:
    from controlplane.client import WeirClient
    from controlplane.gitops.plan import Plan

ATTEMPTS = 5


@dataclass
class Applied:
    created: list[Key] = field(default_factory=list)
    updated: list[Key] = field(default_factory=list)
    deleted: list[Key] = field(default_factory=list)
    already: list[Key] = field(default_factory=list)
    """Found as declared when written: another writer got there first."""
    retried: int = 0
    """Writes repeated after a 409."""
    skipped: list[str] = field(default_factory=list)
    """Deletes left undone, with why (a namespace still holding others' objects)."""
    revisions: dict[Key, int] = field(default_factory=dict)
    """The revision of every object written."""

    @property
    def count(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


def apply_plan(client: WeirClient, plan: Plan, *, dry_run: bool = False) -> Applied:
    """Write ``plan``. Raises :class:`Stalled` when it has errors, before writing anything."""
    errors = plan.errors
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise Stalled(errors[0] + more, "InvalidSource" if plan.problems else "Conflict")
    applied = Applied()
    if dry_run:
        return applied
    for change in plan.to_apply:
        try:
            _apply_one(client, change, applied)
        except GitOpsError:
            raise
        except Unreachable as error:
            raise Transient(f"{change.key}: {error}") from None
        except ClientError as error:
            if error.status is not None and error.status >= 500:
                raise Transient(f"{change.key}: {error}") from None
            raise Stalled(f"{change.key}: {error}", "WriteRefused") from None
    return applied


def _apply_one(client: WeirClient, change: Change, applied: Applied) -> None:
    current: Actual | None = change.actual
    manager = client.manager
    for attempt in range(ATTEMPTS):
        if attempt:
            applied.retried += 1
        try:
            if change.action == "delete":
                if current is None:
                    return
                _delete(client, change.key, current.revision)
                applied.deleted.append(change.key)
                return
            assert change.desired is not None
            revision = _write(client, change.desired, current.revision if current else 0)
            applied.revisions[change.key] = revision
            (applied.updated if current is not None else applied.created).append(change.key)
            return
        except NotFound:
            if change.action == "delete":
                return  # deleted by someone else: what was wanted
            current = None
        except Conflict as error:
            if error.code == "namespace_not_empty":
                applied.skipped.append(f"{change.key}: {error}")
                return
            current = read_one(client, change.key)
            if change.action == "delete":
                if current is None:
                    return
                if current.managed_by != manager:
                    applied.skipped.append(
                        f"{change.key}: now managed by '{current.managed_by}', left in place"
                    )
                    return
                continue
            assert change.desired is not None
            if current is not None and same(change.key.kind, change.desired.value, current.value):
                applied.already.append(change.key)
                applied.revisions[change.key] = current.revision
                return
            if current is not None and current.managed_by not in (None, manager):
                raise Stalled(
                    f"{change.key} is now managed by '{current.managed_by}', not by {manager}: "
                    "remove it from one of them",
                    "Conflict",
                ) from None
    raise Waiting(
        f"{change.key} changed on every one of {ATTEMPTS} attempts to write it; "
        "something else keeps writing it — retry later"
    )


def _write(client: WeirClient, item: Desired, if_match: int) -> int:
    key = item.key
    ns, name = key.namespace, key.name
    if key.kind == "namespace":
        settings: dict[str, Any] = item.value or {}
        return client.namespaces.put(
            ns,
            description=settings.get("description"),
            variables=settings.get("variables"),
            labels=settings.get("labels"),
            if_match=if_match,
            allowed_namespaces=settings.get("allowed_namespaces") or (),
        ).revision
    if key.kind == "flow":
        return client.flows.put(item.value, namespace=ns, flow_id=name, if_match=if_match).revision
    if key.kind == "secret":
        return client.secrets.set_sealed(ns, name, item.payload, if_match=if_match).revision
    if key.kind == "kv":
        kind, value = item.value
        ttl = (item.payload or {}).get("ttl")
        return client.kv.set(ns, name, value, type=kind, ttl=ttl, if_match=if_match).revision
    if key.kind == "file":
        return client.files.write(ns, name, item.payload, if_match=if_match).revision
    raise AssertionError(key.kind)


def _delete(client: WeirClient, key: Key, revision: int) -> None:
    ns, name = key.namespace, key.name
    deleters = {
        "namespace": lambda: client.namespaces.delete(ns, if_match=revision),
        "flow": lambda: client.flows.delete(ns, name, if_match=revision),
        "secret": lambda: client.secrets.delete(ns, name, if_match=revision),
        "kv": lambda: client.kv.delete(ns, name, if_match=revision),
        "file": lambda: client.files.delete(ns, name, if_match=revision),
    }
    deleters[key.kind]()


def read_one(client: WeirClient, key: Key) -> Actual | None:
    """One object as the server holds it now, or None."""
    ns, name = key.namespace, key.name
    try:
        if key.kind == "namespace":
            n = client.namespaces.get(ns)
            value = {"description": n.description, "variables": n.variables, "labels": n.labels}
            return Actual(key, value, n.managed_by, n.revision)
        if key.kind == "flow":
            f = client.flows.get(ns, name)
            return Actual(key, f.source, f.managed_by, f.revision)
        if key.kind == "secret":
            s = client.secrets.get(ns, name)
            return Actual(key, s.sealed_digest, s.managed_by, s.revision)
        if key.kind == "kv":
            k = client.kv.get(ns, name)
            return Actual(key, (k.type, k.value), k.managed_by, k.revision)
        for meta in client.files.list(ns, prefix=name):
            if meta.path == name:
                return Actual(key, meta.sha256, meta.managed_by, meta.revision)
        return None
    except NotFound:
        return None
