"""PushFlows: the flows of a namespace (and, with ``includeChildNamespaces``, those below it)
written to ``gitDirectory`` of a branch, committed and pushed.

Each flow goes to ``<gitDirectory>/<sub/namespace/path>/<flowId>.yml`` as its source was saved
(with ``targetNamespace``, its ``namespace:`` line is rewritten). A branch that does not exist
yet is created from the default one. Nothing to commit pushes nothing; ``dryRun`` computes the
diff and stops before the commit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from controlplane.engine.globs import glob_match
from controlplane.engine.ports import FlowRecord
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.git import PushFlows
from controlplane.tasks import props
from controlplane.tasks.git.remote import CloneOptions, Remote, clone
from controlplane.tasks.ion import to_ion

_NAMESPACE_LINE = re.compile(r"^namespace:[ \t]*\S.*$", re.MULTILINE)


def _selected(task: PushFlows, ctx: RunContext, namespace: str) -> list[FlowRecord]:
    children = props.boolean(ctx, task.includeChildNamespaces)
    globs = props.string_list(ctx, task.flows, "flows") or ["**"]
    records = ctx.control.list_flows(namespace, include_children=children)
    return [r for r in records if any(glob_match(g, r.flow_id) for g in globs)]


def _relative(record: FlowRecord, namespace: str) -> str:
    below = record.namespace[len(namespace) :].lstrip(".")
    folder = below.replace(".", "/")
    return f"{folder}/{record.flow_id}.yml" if folder else f"{record.flow_id}.yml"


def _source(record: FlowRecord, source_ns: str, target_ns: str | None) -> str:
    if target_ns is None:
        return record.source
    namespace = target_ns + record.namespace[len(source_ns) :]
    return _NAMESPACE_LINE.sub(f"namespace: {namespace}", record.source, count=1)


@runs(PushFlows)
def run_push_flows(task: PushFlows, ctx: RunContext) -> dict[str, Any]:
    namespace = props.text(ctx, task.sourceNamespace)
    target = props.optional_text(ctx, task.targetNamespace)
    branch = props.text(ctx, task.branch)
    records = _selected(task, ctx, namespace)
    with Remote(task, ctx) as remote:
        checkout = remote.scratch / "repo"
        exists = remote.has_branch(branch)
        clone(remote, checkout, CloneOptions(branch=branch if exists else None, all_branches=False))
        if not exists:
            remote.git(["checkout", "-b", branch], checkout, "Creating the branch of")
        folder = checkout / props.text(ctx, task.gitDirectory)
        _write(folder, records, namespace, target)
        remote.git(["add", "--all", "."], checkout, "Staging the flows for")
        status = remote.git(
            ["status", "--porcelain"], checkout, "Reading the changes of", quiet=True
        )
        diff = [_change(line) for line in status if line.strip()]
        diff_uri = ctx.put_file("diff.ion", "".join(to_ion(d) + "\n" for d in diff).encode())
        if props.boolean(ctx, task.dryRun) or not diff:
            ctx.info(
                "Nothing to push" if not diff else f"Dry run: {len(diff)} change(s) not pushed"
            )
            return {"commitId": None, "commitURL": None, "diff": diff_uri}
        commit = _commit(task, ctx, remote, checkout, namespace)
        remote.git(["push", remote.url, f"HEAD:refs/heads/{branch}"], checkout, "Pushing to")
    ctx.info(f"Pushed {len(diff)} change(s) to {branch} as {commit}")
    return {"commitId": commit, "commitURL": None, "diff": diff_uri}


def _write(folder: Path, records: list[FlowRecord], namespace: str, target: str | None) -> None:
    """Put the selected flows in ``folder``, replacing the flow files already there."""
    if folder.exists():
        for old in [*folder.rglob("*.yml"), *folder.rglob("*.yaml")]:
            old.unlink()
    for record in records:
        path = folder / _relative(record, namespace)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_source(record, namespace, target), encoding="utf-8")
    if folder.exists() and not any(folder.rglob("*")):
        shutil.rmtree(folder)


def _change(line: str) -> dict[str, str]:
    code, path = line[:2].strip(), line[3:].strip()
    state = {"A": "ADDED", "M": "MODIFIED", "D": "DELETED", "R": "RENAMED"}.get(code[:1], code)
    return {"gitPath": path, "syncState": state}


def _commit(task: PushFlows, ctx: RunContext, remote: Remote, checkout: Path, ns: str) -> str:
    message = props.optional_text(ctx, task.commitMessage) or f"Add flows from {ns} namespace"
    name = props.optional_text(ctx, task.authorName) or "Weir"
    email = props.optional_text(ctx, task.authorEmail) or "weir@localhost"
    identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    remote.git([*identity, "commit", "--quiet", "-m", message], checkout, "Committing to")
    (commit,) = remote.git(["rev-parse", "HEAD"], checkout, "Reading the commit of", quiet=True)
    if not commit:
        raise TaskFailed(f"the commit to {remote.url} has no id")
    return commit.strip()
