"""``io.kestra.plugin.kubernetes.core.PodCreate``: a Pod from the task's spec, followed to its end.

The first container is the one whose log and exit code make the task's. With ``inputFiles`` or
``outputFiles``, the files travel as for the task runner (podspec.py): the first container gets
the working directory (``{{ workingDir }}``) and its command is wrapped, so it must name a
``command``; outputs come back from ``::{"outputs": ...}::`` lines of its log.
"""

from __future__ import annotations

import copy
import shutil
from typing import Any

from controlplane.engine.attempt_context import OUTPUT_DIR_NAME
from controlplane.engine.globs import glob_match
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.kubernetes import PodCreate
from controlplane.tasks import props
from controlplane.tasks.kubernetes import podspec, resources
from controlplane.tasks.kubernetes.api import Obj
from controlplane.tasks.kubernetes.connection import connect
from controlplane.tasks.kubernetes.podrun import PodPlan, exit_code, run_pod
from controlplane.tasks.scripts import ScriptRun, target_path


@runs(PodCreate)
def run_pod_create(task: PodCreate, ctx: RunContext) -> dict[str, Any]:
    spec = props.mapping(ctx, task.spec, "spec")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise TaskFailed(f"The spec of task '{task.id}' needs at least one container")
    output_globs = props.string_list(ctx, task.outputFiles, "outputFiles")
    with_files = _write_inputs(task, ctx) or bool(output_globs)
    lines = ScriptRun(ctx, {}, [])
    collector = podspec.FileCollector(lambda line: lines.line(line, False))
    with connect(ctx, task.connection) as (kube, default):
        plan = _plan(task, ctx, spec, default, with_files, bool(output_globs))
        pod = run_pod(kube, ctx, plan, collector)
    code = exit_code(pod, plan.container)
    outputs: dict[str, Any] = {
        "metadata": resources.metadata(pod),
        "status": pod.get("status"),
        "vars": lines.vars,
    }
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Succeeded" or code not in (0, None):
        raise TaskFailed(
            f"The Pod {plan.namespace}/{plan.name} ended {phase} (exit code {code})", outputs
        )
    received = collector.extract(ctx.working_dir)
    outputs["outputFiles"] = {
        name: ctx.put_file(name, ctx.working_dir / name)
        for name in received
        if any(glob_match(pattern, name) for pattern in output_globs)
    }
    return outputs


def _write_inputs(task: PodCreate, ctx: RunContext) -> bool:
    files = props.mapping(ctx, task.inputFiles, "inputFiles")
    for name, value in files.items():
        content = props.text(ctx, value)
        target = target_path(ctx.working_dir, name)
        if content.startswith("kestra://"):
            with ctx.open_file(content) as stream, target.open("wb") as out:
                shutil.copyfileobj(stream, out)
        else:
            target.write_text(content, encoding="utf-8")
    return bool(files)


def _plan(
    task: PodCreate,
    ctx: RunContext,
    spec: Obj,
    default: str | None,
    with_files: bool,
    collect: bool,
) -> PodPlan:
    namespace = props.text(ctx, task.namespace)
    if task.namespace == "default" and default:
        namespace = default
    metadata = copy.deepcopy(props.mapping(ctx, task.metadata, "metadata"))
    name = str(metadata.get("name") or podspec.pod_name(task.id))
    labels = {
        **podspec.MANAGED,
        "weir.io/taskrun-id": podspec.label_value(ctx.task_run_id),
        "weir.io/attempt": str(ctx.attempt),
        **{str(k): str(v) for k, v in (metadata.get("labels") or {}).items()},
    }
    metadata.update({"name": name, "namespace": namespace, "labels": labels})
    spec = copy.deepcopy(spec)
    spec.setdefault("restartPolicy", "Never")
    defaults = props.mapping(ctx, task.containerDefaultSpec, "containerDefaultSpec")
    spec["containers"] = [_with_defaults(c, defaults) for c in spec["containers"]]
    secret = None
    if with_files:
        secret = _attach_files(task, ctx, spec, name, namespace, labels, collect)
    selector = f"weir.io/taskrun-id={labels['weir.io/taskrun-id']},weir.io/attempt={ctx.attempt}"
    return PodPlan(
        namespace=namespace,
        pod={"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec},
        secret=secret,
        container=str(spec["containers"][0].get("name")),
        selector=selector,
        delete=props.boolean(ctx, task.delete),
        resume=props.boolean(ctx, task.resume),
        wait_running=props.duration(ctx, task.waitUntilRunning, "waitUntilRunning"),
        wait_completion=props.duration(ctx, task.waitRunning, "waitRunning"),
    )


def _with_defaults(container: Obj, defaults: Obj) -> Obj:
    merged = copy.deepcopy(defaults)
    for key, value in container.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def _attach_files(
    task: PodCreate,
    ctx: RunContext,
    spec: Obj,
    name: str,
    namespace: str,
    labels: dict[str, str],
    collect: bool,
) -> Obj:
    main = spec["containers"][0]
    if not main.get("command"):
        raise TaskFailed(
            f"With inputFiles or outputFiles, the first container of task '{task.id}' needs a "
            "command (its files are delivered by a wrapper of that command)"
        )
    workdir = str(ctx.working_dir)
    files = podspec.working_files(ctx.working_dir)
    secret, _, items = podspec.attempt_secret(name, namespace, labels, {}, files, task.id)
    volumes, mounts = podspec.file_volumes(name, items, workdir)
    spec["volumes"] = [*(spec.get("volumes") or []), *volumes]
    main["volumeMounts"] = [*(main.get("volumeMounts") or []), *mounts]
    mode = "all" if collect else ""
    main["env"] = [*podspec.wrapper_env(workdir, OUTPUT_DIR_NAME, mode), *(main.get("env") or [])]
    main["command"] = podspec.wrap([*main["command"], *(main.pop("args", None) or [])])
    main.setdefault("workingDir", workdir)
    return secret
