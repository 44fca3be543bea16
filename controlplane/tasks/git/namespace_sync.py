"""NamespaceSync and TenantSync: one namespace's flows and files (TenantSync: every namespace's),
and those of a repository, made equal either way.

In the repository they lie namespace first: ``<gitDirectory>/<namespace>/flows/<id>.yaml`` and
``<gitDirectory>/<namespace>/files/<path>`` (a namespace folder may also be written
``company/team``). With ``sourceOfTruth: GIT`` the control plane follows the repository as the
sync tasks do (the same plan, refusals and ``managed_by``); with ``KESTRA`` the repository follows
the control plane and the change is committed and pushed as the push tasks do. What the source
lacks is deleted from the other side (``whenMissingInSource: DELETE``), kept (``KEEP``) or fails
the run before anything is written (``FAIL``); nothing is deleted in a protected namespace (or
below one), nor the flow that runs the task. TenantSync takes the namespaces of the control plane
and, with GIT, every top folder of ``gitDirectory`` that has ``flows/`` or ``files/``; each must
let the task's namespace reach it (``allowedNamespaces``).

The ``diff`` output is Kestra's: with GIT, or on a dry run, one row per changed object
(``{file, key, kind: FLOW|FILE, action: ADDED|UPDATED_GIT|UPDATED_KES|DELETED_GIT|DELETED_KES}``);
paths relative to ``gitDirectory``; after a push from KESTRA, the lines added, deleted and
changed per file, paths relative to the repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controlplane.engine.control import Plan, plan_files, plan_flows
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.names import NAMESPACE_PATTERN
from controlplane.spec.plugins.git import NamespaceSync, SyncBothWays, TenantSync
from controlplane.tasks import props
from controlplane.tasks.git.folder import read_folder
from controlplane.tasks.git.pushing import diff_file, inside, push
from controlplane.tasks.git.remote import Remote
from controlplane.tasks.git.sync import _desired_flows, _namespace, _run, _runs_this

_FLOW_FILE = re.compile(r"^(?P<folder>.+?)/flows/(?P<id>[^/]+)\.ya?ml$")
_TOP_FOLDER = re.compile(r"^[^/]+/(?:flows|files)/")
_STATES = {"ADDED": "ADDED", "UPDATED": "UPDATED_KES", "OVERWRITTEN": "UPDATED_KES"}


def _protected(ctx: RunContext, task: SyncBothWays, namespace: str) -> bool:
    shielded = props.string_list(ctx, task.protectedNamespaces, "protectedNamespaces")
    return any(namespace == p or namespace.startswith(p + ".") for p in shielded)


def _flows_in(files: dict[str, bytes], namespace: str) -> dict[str, tuple[str, bytes]]:
    """The flow files of ``namespace`` among the folder's files: path -> (flow id, content)."""
    found = {}
    for path, data in files.items():
        match = _FLOW_FILE.match(path)
        if match and match["folder"].replace("/", ".") == namespace:
            found[path] = (match["id"], data)
    return found


def _files_in(files: dict[str, bytes], namespace: str) -> dict[str, bytes]:
    prefix = f"{namespace}/files/"
    return {p.removeprefix(prefix): d for p, d in files.items() if p.startswith(prefix)}


def _git_path(namespace: str, kind: str, name: str) -> str:
    """Where an object of the namespace lies in the repository."""
    if kind == "flow":
        return f"{namespace}/flows/{name}.yaml"
    return f"{namespace}/files/{name}"


def _row(file: str, key: str, kind: str, action: str) -> dict[str, str]:
    return {"file": file, "key": key, "kind": kind, "action": action}


Chooser = Callable[[dict[str, bytes]], list[str]]
"""The namespaces to sync, given the files of the repository's folder."""


@runs(NamespaceSync)
def run_namespace_sync(task: NamespaceSync, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace, "namespace")
    return _sync(task, ctx, lambda found: [namespace], "Namespace sync from Kestra")


@runs(TenantSync)
def run_tenant_sync(task: TenantSync, ctx: RunContext) -> dict[str, Any]:
    def every(found: dict[str, bytes]) -> list[str]:
        known = set(ctx.control.list_namespaces())
        if task.sourceOfTruth == "GIT":
            known |= {p.split("/", 1)[0] for p in found if _TOP_FOLDER.match(p)}
        return sorted(ns for ns in known if re.fullmatch(NAMESPACE_PATTERN, ns))

    return _sync(task, ctx, every, "Tenant sync from Kestra")


def _sync(task: SyncBothWays, ctx: RunContext, choose: Chooser, message: str) -> dict[str, Any]:
    if task.sourceOfTruth == "GIT":
        return _from_git(task, ctx, choose)
    return _to_git(task, ctx, choose, message)


# -- GIT: the control plane follows the repository ------------------------------------------------


def _from_git(task: SyncBothWays, ctx: RunContext, choose: Chooser) -> dict[str, Any]:
    git_dir = props.text(ctx, task.gitDirectory)
    with Remote(task, ctx) as remote:
        root = remote.checkout(props.text(ctx, task.branch))
        base = inside(root, git_dir, "gitDirectory")
        found = read_folder(ctx, base) if base.is_dir() else {}
    plan = Plan()
    for namespace in choose(found):
        part = _plan_namespace(task, ctx, remote.manager, found, namespace)
        plan = Plan(plan.changes + part.changes, plan.kept + part.kept)
    gone = [c for c in plan.changes if c.state == "DELETED"]
    if task.whenMissingInSource == "FAIL" and gone:
        what = ", ".join(f"{c.kind} {c.namespace}/{c.name}" for c in gone)
        raise TaskFailed(f"Sync failed: missing in Git but present in Kestra: {what}")
    _run(ctx, plan, remote, props.boolean(ctx, task.dryRun), "Flows and namespace files")
    rows = [
        _row(
            c.origin or _git_path(c.namespace, c.kind, c.name),
            f"{c.namespace}:{c.name}",
            c.kind.upper(),
            _STATES.get(c.state, "DELETED_KES"),
        )
        for c in plan.changes
        if c.state != "UNCHANGED"
    ]
    return {"diff": diff_file(ctx, rows), "commitId": None, "commitURL": None}


def _plan_namespace(
    task: SyncBothWays, ctx: RunContext, manager: str, found: dict[str, bytes], namespace: str
) -> Plan:
    flow_files = {path: data for path, (_, data) in _flows_in(found, namespace).items()}
    skip_invalid = task.onInvalidSyntax != "FAIL"
    desired, invalid = _desired_flows(
        ctx, flow_files, ".", lambda path, source: namespace, skip_invalid
    )
    files = {
        path: (_git_path(namespace, "file", path), data)
        for path, data in _files_in(found, namespace).items()
    }
    delete = task.whenMissingInSource != "KEEP" and not _protected(ctx, task, namespace)
    flows = plan_flows(
        ctx.control,
        desired,
        namespace,
        manager,
        include_children=False,
        delete=delete,
        keep=lambda ns, flow_id: (ns, flow_id) in invalid or _runs_this(ctx, ns, flow_id),
    )
    plan = plan_files(ctx.control, namespace, files, manager, delete=delete)
    return Plan(flows.changes + plan.changes, flows.kept + plan.kept)


# -- KESTRA: the repository follows the control plane --------------------------------------------


def _to_git(task: SyncBothWays, ctx: RunContext, choose: Chooser, message: str) -> dict[str, Any]:
    rows: list[dict[str, str]] = []

    def fill(checkout: Path, base: Path) -> None:
        found = read_folder(ctx, base) if base.is_dir() else {}
        for namespace in choose(found):
            _write_namespace(task, ctx, base, found, namespace, rows)

    pushed = push(task, ctx, fill, message)
    dry_run = props.boolean(ctx, task.dryRun)
    return {
        "diff": diff_file(ctx, rows if dry_run else pushed.lines),
        "commitId": pushed.commit,
        "commitURL": pushed.commit_url,
    }


def _write_namespace(
    task: SyncBothWays,
    ctx: RunContext,
    base: Path,
    found: dict[str, bytes],
    namespace: str,
    rows: list[dict[str, str]],
) -> None:
    flows = {r.flow_id: r.source for r in ctx.control.list_flows(namespace)}
    files: dict[str, bytes] = {}
    for record in ctx.control.list_files(namespace):
        data = ctx.control.read_file(namespace, record.path)
        if data is not None:
            files[record.path.lstrip("/")] = data
    deletes = task.whenMissingInSource == "DELETE" and not _protected(ctx, task, namespace)
    in_git = {fid: path for path, (fid, _) in _flows_in(found, namespace).items()}
    wanted = {
        fid: (in_git.get(fid) or _git_path(namespace, "flow", fid), source.encode())
        for fid, source in flows.items()
    }
    _mirror(ctx, task, base, found, wanted, in_git, "FLOW", namespace, deletes, rows)
    wanted = {p: (_git_path(namespace, "file", p), data) for p, data in files.items()}
    present = {p: _git_path(namespace, "file", p) for p in _files_in(found, namespace)}
    _mirror(ctx, task, base, found, wanted, present, "FILE", namespace, deletes, rows)


def _mirror(
    ctx: RunContext,
    task: SyncBothWays,
    base: Path,
    found: dict[str, bytes],
    wanted: dict[str, tuple[str, bytes]],
    present: dict[str, str],
    kind: str,
    namespace: str,
    deletes: bool,
    rows: list[dict[str, str]],
) -> None:
    """Write ``wanted`` (name -> (path, content)) into ``base``; what ``present`` (name -> path)
    has beyond it goes as ``whenMissingInSource`` says."""
    for name, (path, data) in sorted(wanted.items()):
        before = found.get(path)
        if before is not None and _same(before, data, kind):
            continue
        target = inside(base, path, "namespace")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        action = "ADDED" if before is None else "UPDATED_GIT"
        rows.append(_row(path, f"{namespace}:{name}", kind, action))
    for name, path in sorted(present.items()):
        if name in wanted:
            continue
        if task.whenMissingInSource == "FAIL":
            raise TaskFailed(
                f"Sync failed: {kind} missing in Kestra but present in Git: {namespace}:{name}"
            )
        if not deletes:
            continue
        inside(base, path, "namespace").unlink()
        rows.append(_row(path, f"{namespace}:{name}", kind, "DELETED_GIT"))


def _same(before: bytes, after: bytes, kind: str) -> bool:
    if kind == "FILE":
        return before == after
    return _text(before) == _text(after)


def _text(data: bytes) -> str:
    return data.decode(errors="replace").replace("\r\n", "\n").strip()
