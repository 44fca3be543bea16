"""SyncNamespaceFiles, SyncFlows and Sync: from a folder of a git branch to the control plane.

The plan is a pure diff against the control plane; objects of another manager are refused before
anything is written; ``dryRun`` stops after the diff. The diff is an ION file, one struct per line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

from controlplane.engine.control import Change, DesiredFlow, Plan, plan_files, plan_flows
from controlplane.engine.ports import namespace_file_path
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.names import NAMESPACE_PATTERN
from controlplane.spec.plugins.git import Sync, SyncFlows, SyncNamespaceFiles
from controlplane.spec.problems import Severity
from controlplane.spec.validate import validate_text
from controlplane.tasks import props
from controlplane.tasks.git.folder import git_folder, read_folder
from controlplane.tasks.git.remote import Remote
from controlplane.tasks.ion import to_ion

_NAMESPACE_LINE = re.compile(r"(?m)^namespace:[ \t]*\S.*$")


def _namespace(ctx: RunContext, value: str, name: str) -> str:
    rendered = props.text(ctx, value).strip()
    if not re.match(NAMESPACE_PATTERN, rendered):
        raise TaskFailed(
            f"'{name}' must be a namespace such as company.team (lowercase parts separated by "
            f"dots), got {rendered!r}"
        )
    return rendered


def _git_path(git_dir: str, relative: str) -> str:
    return posixpath.normpath(posixpath.join(git_dir or ".", relative))


@runs(SyncNamespaceFiles)
def run_sync_namespace_files(task: SyncNamespaceFiles, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace, "namespace")
    git_dir = props.text(ctx, task.gitDirectory)
    with Remote(task, ctx) as remote:
        folder = git_folder(ctx, remote.checkout(props.text(ctx, task.branch)), git_dir, task)
        files = read_folder(ctx, folder) if folder is not None else {}
    desired = {path: (_git_path(git_dir, path), data) for path, data in files.items()}
    delete = folder is not None and props.boolean(ctx, task.delete)
    plan = plan_files(ctx.control, namespace, desired, remote.manager, delete=delete)
    _run(ctx, plan, remote, props.boolean(ctx, task.dryRun), "Namespace files")
    uri = _write_diff(
        ctx,
        [
            {
                "gitPath": change.origin,
                "syncState": change.state,
                "kestraPath": "/" + namespace_file_path(change.namespace, change.name),
            }
            for change in plan.changes
        ],
    )
    return {"files": uri, "diff": uri}


@runs(SyncFlows)
def run_sync_flows(task: SyncFlows, ctx: RunContext) -> dict[str, Any]:
    target = _namespace(ctx, task.targetNamespace, "targetNamespace")
    git_dir = props.text(ctx, task.gitDirectory)
    children = props.boolean(ctx, task.includeChildNamespaces)
    with Remote(task, ctx) as remote:
        folder = git_folder(ctx, remote.checkout(props.text(ctx, task.branch)), git_dir, task)
        depth = None if children else 1
        files = read_folder(ctx, folder, depth, _is_yaml) if folder is not None else {}

    def namespace_of(relative: str, source: str) -> str:
        folder_path = posixpath.dirname(relative)
        return target + ("." + folder_path.replace("/", ".") if folder_path else "")

    ignore_invalid = props.boolean(ctx, task.ignoreInvalidFlows)
    desired, invalid = _desired_flows(ctx, files, git_dir, namespace_of, ignore_invalid)
    plan = plan_flows(
        ctx.control,
        desired,
        target,
        remote.manager,
        include_children=children,
        delete=folder is not None and props.boolean(ctx, task.delete),
        keep=lambda ns, flow_id: (ns, flow_id) in invalid or _runs_this(ctx, ns, flow_id),
    )
    _run(ctx, plan, remote, props.boolean(ctx, task.dryRun), "Flows")
    uri = _write_diff(
        ctx,
        [
            {
                "gitPath": change.origin,
                "syncState": change.state,
                "flowId": change.name,
                "namespace": change.namespace,
                "revision": change.revision,
            }
            for change in plan.changes
        ],
    )
    return {"flows": uri, "diff": uri}


@runs(Sync)
def run_sync(task: Sync, ctx: RunContext) -> dict[str, Any]:
    """Flows of ``_flows`` keep a child namespace of the flow's, else take the flow's own; every
    other file becomes a namespace file under ``namespaceFilesDirectory``. What git no longer
    has is deleted (flows of the namespace itself, files under that directory)."""
    namespace = ctx.namespace
    git_dir = props.optional_text(ctx, task.gitDirectory) or ""
    prefix = (props.optional_text(ctx, task.namespaceFilesDirectory) or "").strip("/")
    prefix = prefix + "/" if prefix else ""
    with Remote(task, ctx) as remote:
        root = remote.checkout(props.optional_text(ctx, task.branch) or None)
        base = (root / git_dir).resolve()
        if not base.is_relative_to(root.resolve()) or not base.is_dir():
            raise TaskFailed(f"'gitDirectory' {git_dir!r} is not a folder of the repository")
        found = read_folder(ctx, base)
    flow_files = {
        k: v for k, v in found.items() if k.split("/")[0] == "_flows" and k.count("/") == 1
    }
    files = {k: v for k, v in found.items() if "_flows" not in k.split("/")}

    def namespace_of(relative: str, source: str) -> str:
        match = _NAMESPACE_LINE.search(source)
        declared = match.group(0).split(":", 1)[1].strip().strip("'\"") if match else ""
        return declared if declared.startswith(namespace + ".") else namespace

    desired, _ = _desired_flows(ctx, flow_files, git_dir, namespace_of, False)
    flows = plan_flows(
        ctx.control,
        desired,
        namespace,
        remote.manager,
        include_children=False,
        delete=True,
        keep=lambda ns, flow_id: _runs_this(ctx, ns, flow_id),
    )
    wanted = {prefix + path: (_git_path(git_dir, path), data) for path, data in files.items()}
    plan = plan_files(ctx.control, namespace, wanted, remote.manager, delete=True, prefix=prefix)
    dry_run = task.dryRun is not None and props.boolean(ctx, task.dryRun)
    both = Plan(flows.changes + plan.changes, flows.kept + plan.kept)
    _run(ctx, both, remote, dry_run, "Flows and namespace files")
    return {}


def _is_yaml(relative: str) -> bool:
    return relative.endswith((".yml", ".yaml"))


def _runs_this(ctx: RunContext, namespace: str, flow_id: str) -> bool:
    return namespace == ctx.namespace and flow_id == ctx.flow_id


def _desired_flows(
    ctx: RunContext,
    files: Mapping[str, bytes],
    git_dir: str,
    namespace_of: Callable[[str, str], str],
    ignore_invalid: bool,
) -> tuple[list[DesiredFlow], set[tuple[str, str]]]:
    """The flows of ``files``, each moved to ``namespace_of(path, source)`` as Kestra does (its
    ``namespace:`` line rewritten) and validated. Invalid ones fail the task, or with
    ``ignore_invalid`` are skipped; their (namespace, id), when readable, is returned so that a
    broken file never deletes the flow it declares."""
    desired: list[DesiredFlow] = []
    invalid: set[tuple[str, str]] = set()
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for relative, data in sorted(files.items()):
        origin = _git_path(git_dir, relative)
        text = data.decode("utf-8", errors="replace")
        namespace = namespace_of(relative, text)
        source = _NAMESPACE_LINE.sub(f"namespace: {namespace}", text, count=1).rstrip() + "\n"
        result = validate_text(source, origin)
        errors = [str(p) for p in result.problems if p.severity is Severity.ERROR]
        flow = result.flow
        if flow is not None and not errors and flow.namespace != namespace:
            errors.append(
                f"{origin}: the flow's namespace is {flow.namespace}, but the flows of this "
                f"folder belong to {namespace}"
            )
        if errors:
            if result.ref is not None:
                ref_namespace, _, ref_id = result.ref.rpartition("/")
                invalid.add((ref_namespace, ref_id))
            if ignore_invalid:
                ctx.warning(f"Invalid flow imported from Git ({origin}) skipped: {errors[0]}")
            else:
                problems.append("; ".join(errors[:5]))
            continue
        assert flow is not None
        key = (flow.namespace, flow.id)
        if key in seen:
            problems.append(f"{origin}: flow {flow.ref} is also declared by {seen[key]}")
            continue
        seen[key] = origin
        desired.append(DesiredFlow(flow.namespace, flow.id, source, origin))
    if problems:
        raise TaskFailed(
            f"Nothing was synced: {len(problems)} invalid flow file(s) in git "
            "(set ignoreInvalidFlows to skip them): " + " | ".join(problems)
        )
    return desired, invalid


def _run(ctx: RunContext, plan: Plan, remote: Remote, dry_run: bool, kind: str) -> None:
    """Refuse other managers' objects, then apply (unless a dry run) and log each change."""
    plan.refuse_foreign(remote.manager, kind.lower())
    for change in plan.kept:
        ctx.warning(
            f"{change.kind} {change.namespace}/{change.name} is not in git but is managed by "
            f"'{change.manager}': kept"
        )

    def report(change: Change) -> None:
        source = f" from {change.origin}" if change.origin else ""
        message = f"{'[dry run] ' if dry_run else ''}{change.state} {change.kind} "
        message += f"{change.namespace}/{change.name}{source}"
        ctx.log("DEBUG" if change.state == "UNCHANGED" else "INFO", message)

    if dry_run:
        for change in plan.changes:
            report(change)
    else:
        plan.apply(ctx.control, remote.manager, report)
    counts: dict[str, int] = {}
    for change in plan.changes:
        counts[change.state] = counts.get(change.state, 0) + 1
    told = ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items())) or "nothing"
    ctx.info(f"{'Dry run: ' if dry_run else ''}{kind} synced from {remote.url}: {told}")


def _write_diff(ctx: RunContext, records: list[dict[str, Any]]) -> str:
    records.sort(key=lambda r: (r["gitPath"] is not None, r["gitPath"] or ""))
    text = "".join(to_ion(record) + "\n" for record in records)
    return ctx.put_file("diff.ion", text.encode("utf-8"))
