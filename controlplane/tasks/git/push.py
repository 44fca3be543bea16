"""PushFlows: the flows of a namespace (and, with ``includeChildNamespaces``, those below it)
written to ``gitDirectory`` of a branch, committed and pushed.

Each flow goes to ``<gitDirectory>/<sub/namespace/path>/<flowId>.yml`` as its source was saved
(with ``targetNamespace``, its ``namespace:`` line is rewritten). A branch that does not exist
yet is created from the default one. Nothing to commit pushes nothing; ``dryRun`` computes the
diff and stops before the commit. Outputs ``diff`` (``{gitPath, syncState}`` rows) and, as
Kestra names it, ``flows`` (its rows of lines added, deleted and changed per file).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from controlplane.engine.globs import glob_match
from controlplane.engine.ports import FlowRecord
from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.git import PushFlows
from controlplane.tasks import props
from controlplane.tasks.git.pushing import diff_file, push

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
    records = _selected(task, ctx, namespace)
    pushed = push(
        task,
        ctx,
        lambda _, folder: _write(folder, records, namespace, target),
        f"Add flows from {namespace} namespace",
    )
    return {
        "commitId": pushed.commit,
        "commitURL": pushed.commit_url,
        "diff": diff_file(ctx, pushed.changes),
        "flows": diff_file(ctx, pushed.lines),
    }


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
