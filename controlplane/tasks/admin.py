"""Core tasks on the control plane: log.Fetch, log.PurgeLogs, execution.PurgeExecutions,
namespace.UploadFiles / DownloadFiles / DeleteFiles, kv.PurgeKV and templating.TemplatedTask."""

from __future__ import annotations

import fnmatch
import posixpath
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from controlplane.engine.globs import glob_match
from controlplane.engine.ports import LogEntry, namespace_file_path
from controlplane.engine.runnable import Purge, RunContext, TaskFailed, runner_for, runs
from controlplane.spec.plugins.admin import (
    DeleteFiles,
    DownloadFiles,
    LogFetch,
    PublishedMetric,
    PublishMetrics,
    PurgeExecutions,
    PurgeFlows,
    PurgeKV,
    PurgeLogs,
    PurgeMetrics,
    TemplatedTask,
    UploadFiles,
)
from controlplane.spec.tasks import Task, TaskSpec
from controlplane.store.logs import LEVELS
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion
from controlplane.tasks.storage import read_bytes

_TASK: TypeAdapter[TaskSpec] = TypeAdapter(Task)


def _instant(ctx: RunContext, value: str | None, name: str) -> datetime | None:
    text = props.optional_text(ctx, value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TaskFailed(f"'{name}' must be an ISO-8601 date-time, got '{text}'") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _log_record(entry: LogEntry) -> dict[str, Any]:
    return {
        "namespace": entry.namespace,
        "flowId": entry.flow_id,
        "executionId": entry.execution_id,
        "taskId": entry.task_id,
        "taskRunId": entry.task_run_id,
        "attemptNumber": entry.attempt,
        "level": entry.level,
        "message": entry.message,
        "timestamp": entry.at,
    }


@runs(LogFetch)
def run_log_fetch(task: LogFetch, ctx: RunContext) -> dict[str, Any]:
    """Logs of an execution (this one by default) at ``level`` or above, as an Ion file."""
    execution_id = props.optional_text(ctx, task.executionId) or ctx.execution_id
    tasks = set(props.string_list(ctx, task.tasksId, "tasksId"))
    floor = LEVELS[task.level]
    entries = [
        entry
        for entry in ctx.control.list_logs(execution_id)
        if LEVELS[entry.level] >= floor
        and entry.task_run_id != ctx.task_run_id
        and (not tasks or entry.task_id in tasks)
    ]
    body = "".join(to_ion(_log_record(entry)) + "\n" for entry in entries).encode()
    return {"size": len(entries), "uri": ctx.put_file("logs.ion", body)}


@runs(PurgeLogs)
def run_purge_logs(task: PurgeLogs, ctx: RunContext) -> dict[str, Any]:
    end = _instant(ctx, task.endDate, "endDate")
    assert end is not None  # endDate is required
    purge = Purge(
        end=end,
        start=_instant(ctx, task.startDate, "startDate"),
        namespace=props.optional_text(ctx, task.namespace),
        flow_id=props.optional_text(ctx, task.flowId),
        execution_id=props.optional_text(ctx, task.executionId),
        levels=frozenset(task.logLevels or ()),
    )
    return {"count": ctx.control.purge_logs(purge)}


@runs(PurgeExecutions)
def run_purge_executions(task: PurgeExecutions, ctx: RunContext) -> dict[str, Any]:
    end = _instant(ctx, task.endDate, "endDate")
    assert end is not None
    purge = Purge(
        end=end,
        start=_instant(ctx, task.startDate, "startDate"),
        namespace=props.optional_text(ctx, task.namespace),
        flow_id=props.optional_text(ctx, task.flowId),
        states=frozenset(task.states or ()),
    )
    flags = {
        "executions": task.purgeExecution,
        "logs": task.purgeLog,
        "metrics": task.purgeMetric,
        "storage": task.purgeStorage,
    }
    what = frozenset(name for name, flag in flags.items() if props.boolean(ctx, flag))
    counts = ctx.control.purge_executions(purge, what)
    return {
        "executionsCount": counts["executions"],
        "logsCount": counts["logs"],
        "metricsCount": counts["metrics"],
        "storagesCount": counts["storage"],
    }


@runs(PublishMetrics)
def run_publish_metrics(task: PublishMetrics, ctx: RunContext) -> dict[str, Any]:
    """Each metric recorded on the task run as the task's own; the same list as the output."""
    given = (
        task.metrics
        if isinstance(task.metrics, list)
        else props.map_list(ctx, task.metrics, "metrics")
    )
    published = []
    for entry in given:
        metric = (
            entry if isinstance(entry, PublishedMetric) else PublishedMetric.model_validate(entry)
        )
        name = props.text(ctx, metric.name)
        tags = {str(k): props.text(ctx, v) for k, v in (metric.tags or {}).items()}
        if metric.type == "timer":
            value = props.duration(ctx, str(metric.value), f"metrics '{name}'").total_seconds()
        else:
            value = _number(ctx, metric.value, name)
        ctx.metric(name, value, metric.type, **tags)
        published.append({"type": metric.type, "name": name, "value": value, "tags": tags})
    return {"metrics": published}


def _number(ctx: RunContext, value: float | str, name: str) -> float:
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    try:
        return float(rendered)
    except (TypeError, ValueError):
        raise TaskFailed(f"metric '{name}' must have a number as value, got {rendered!r}") from None


@runs(PurgeMetrics)
def run_purge_metrics(task: PurgeMetrics, ctx: RunContext) -> dict[str, Any]:
    """The metrics of the ended executions that ``purge`` selects (Weir keeps metrics by
    execution)."""
    namespace = props.optional_text(ctx, task.namespace)
    flow_id = props.optional_text(ctx, task.flowId)
    if flow_id is not None and namespace is None:
        raise TaskFailed("'namespace' is required when 'flowId' is set")
    end = _instant(ctx, task.endDate, "endDate")
    assert end is not None
    purge = Purge(
        end=end,
        start=_instant(ctx, task.startDate, "startDate"),
        namespace=namespace,
        flow_id=flow_id,
    )
    return {"count": ctx.control.purge_executions(purge, frozenset({"metrics"}))["metrics"]}


@runs(PurgeFlows)
def run_purge_flows(task: PurgeFlows, ctx: RunContext) -> dict[str, Any]:
    """Old revisions of the flows of the namespaces chosen (all reachable ones by default);
    the latest revision of a flow, and any an unfinished execution runs, always stay."""
    known = ctx.control.list_namespaces()
    chosen = props.string_list(ctx, task.namespaces, "namespaces") if task.namespaces else None
    pattern = props.optional_text(ctx, task.namespacePattern)
    if pattern is not None:
        chosen = [name for name in known if fnmatch.fnmatchcase(name, pattern)]
    if chosen is None:
        chosen = known
    elif props.boolean(ctx, task.includeChildNamespaces):  # a named one out of reach fails
        chosen += [n for n in known if any(n.startswith(c + ".") for c in chosen)]
    flow_glob = props.optional_text(ctx, task.flowPattern)
    before = _instant(ctx, task.behavior.before, "behavior.before")
    keep = task.behavior.keepAmount
    size = sum(
        ctx.control.purge_flow_revisions(namespace, flow_glob, keep, before)
        for namespace in sorted(set(chosen))
    )
    ctx.info(f"purged {size} flow revisions")
    return {"size": size}


def _namespace(ctx: RunContext, value: str | None) -> str:
    namespace = props.optional_text(ctx, value) or ctx.namespace
    if namespace != ctx.namespace and not namespace.startswith(ctx.namespace + "."):
        raise TaskFailed(
            f"namespace '{namespace}' is neither '{ctx.namespace}' nor below it: a task writes "
            "only its own namespace's files"
        )
    return namespace


@runs(UploadFiles)
def run_upload_files(task: UploadFiles, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace)
    destination = props.text(ctx, task.destination)
    sources: dict[str, str] = {}
    if task.filesMap is not None:
        for target, uri in props.mapping(ctx, task.filesMap, "filesMap").items():
            sources[str(target)] = props.text(ctx, uri) if isinstance(uri, str) else str(uri)
    for uri in props.string_list(ctx, task.files, "files"):
        sources[posixpath.join(destination, posixpath.basename(uri.split("?")[0]))] = uri
    existing = {record.path.lstrip("/") for record in ctx.control.list_files(namespace)}
    written: dict[str, str] = {}
    for target, uri in sources.items():
        path = posixpath.normpath("/" + target).lstrip("/")
        if path in existing and task.conflict != "OVERWRITE":
            if task.conflict == "ERROR":
                raise TaskFailed(f"file '/{path}' already exists in namespace '{namespace}'")
            continue
        ctx.control.save_file(namespace, path, read_bytes(ctx, uri), None)
        written[f"/{path}"] = "kestra:///" + namespace_file_path(namespace, path)
    ctx.info(f"Uploaded {len(written)} file(s) to namespace '{namespace}'")
    return {"files": written}


def _matching(ctx: RunContext, namespace: str, globs: list[str]) -> list[str]:
    paths = [record.path.lstrip("/") for record in ctx.control.list_files(namespace)]
    return [path for path in paths if any(glob_match(g.lstrip("/"), path) for g in globs)]


@runs(DownloadFiles)
def run_download_files(task: DownloadFiles, ctx: RunContext) -> dict[str, Any]:
    namespace = props.text(ctx, task.namespace)
    destination = props.text(ctx, task.destination)
    files: dict[str, str] = {}
    for path in _matching(ctx, namespace, props.string_list(ctx, task.files, "files")):
        data = ctx.control.read_file(namespace, path)
        if data is not None:
            files["/" + path] = ctx.put_file(posixpath.join(destination, path).lstrip("/"), data)
    return {"files": files}


@runs(DeleteFiles)
def run_delete_files(task: DeleteFiles, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace)
    deleted = []
    for path in _matching(ctx, namespace, props.string_list(ctx, task.files, "files")):
        if ctx.control.delete_file(namespace, path):
            deleted.append("/" + path)
    ctx.info(f"Deleted {len(deleted)} file(s) of namespace '{namespace}'")
    return {"files": deleted}


@runs(PurgeKV)
def run_purge_kv(task: PurgeKV, ctx: RunContext) -> dict[str, Any]:
    namespaces = props.string_list(ctx, task.namespaces, "namespaces")
    pattern = props.optional_text(ctx, task.namespacePattern)
    children = props.boolean(ctx, task.includeChildNamespaces)
    chosen = set()
    for namespace in ctx.control.list_namespaces():
        named = any(
            namespace == n or (children and namespace.startswith(n + ".")) for n in namespaces
        )
        if named or (pattern is not None and fnmatch.fnmatch(namespace, pattern)):
            chosen.add(namespace)
    if not namespaces and pattern is None:
        chosen = {ctx.namespace}
    key_pattern = props.optional_text(ctx, task.keyPattern)
    expired_only = props.boolean(ctx, task.expiredOnly)
    size = sum(len(ctx.control.purge_kv(ns, key_pattern, expired_only)) for ns in sorted(chosen))
    return {"size": size}


@runs(TemplatedTask)
def run_templated_task(task: TemplatedTask, ctx: RunContext) -> Any:
    """Render ``spec``, validate it as a runnable task and run it in this attempt."""
    rendered = props.text(ctx, task.spec)
    try:
        definition = yaml.safe_load(rendered)
    except yaml.YAMLError as exc:
        raise TaskFailed(f"the rendered spec is not YAML: {exc}") from None
    if not isinstance(definition, dict):
        raise TaskFailed("the rendered spec must be a mapping with a 'type'")
    try:
        inner = _TASK.validate_python({"id": task.id, **definition})
    except ValidationError as exc:
        raise TaskFailed(f"the rendered spec is not a valid task: {exc}") from None
    runner = runner_for(type(inner))
    if inner.flowable or runner is None:
        raise TaskFailed(f"the rendered spec must be a runnable task, got {inner.type}")
    return runner(inner, ctx)
