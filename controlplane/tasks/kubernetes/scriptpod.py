"""Script tasks on the Kubernetes task runner: the attempt's commands run in a Pod of its own.

The worker prepares the working directory as for a local run (namespace files, input files, the
script), then everything in it travels to the Pod (podspec.py); the container's log comes back
line by line into the task's logs, where ``::{"outputs": ...}::`` lines set ``vars`` as usual.
Kubernetes merges stdout and stderr into one log: every line is logged at INFO and counted in
``stdOutLineCount``.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from controlplane.engine.attempt_context import OUTPUT_DIR_NAME
from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.kubernetes import KubernetesRunner
from controlplane.spec.plugins.scripts import PythonTask, ScriptTask
from controlplane.tasks import props
from controlplane.tasks.kubernetes import podspec
from controlplane.tasks.kubernetes.connection import connect
from controlplane.tasks.kubernetes.podrun import PodPlan, exit_code, run_pod
from controlplane.tasks.scripts import (
    ScriptRun,
    _env,
    _store_outputs,
    fill_working_dir,
    localise,
)

_DEFAULT_IMAGES = {True: "python:3.11-slim", False: "ubuntu:24.04"}


def _labels(ctx: RunContext, runner: KubernetesRunner) -> dict[str, str]:
    labels = {
        **podspec.MANAGED,
        "weir.io/taskrun-id": podspec.label_value(ctx.task_run_id),
        "weir.io/attempt": str(ctx.attempt),
        "weir.io/execution-id": podspec.label_value(ctx.execution_id),
        "weir.io/flow-id": podspec.label_value(ctx.flow_id),
    }
    labels.update({k: props.text(ctx, v) for k, v in (runner.labels or {}).items()})
    return labels


def prepare_pod(task: ScriptTask, ctx: RunContext) -> ScriptRun:
    """Fill the working directory as a local run would; the task's env stays its own."""
    fill_working_dir(task, ctx)
    return PodScriptRun(ctx, {str(k): v for k, v in _env(task, ctx).items()}, [])


class PodScriptRun(ScriptRun):
    """A ScriptRun whose commands run in a Pod instead of a local process."""

    def run(self, task: ScriptTask, ctx: RunContext, commands: list[str]) -> dict[str, Any]:
        assert isinstance(task.taskRunner, KubernetesRunner)
        runner = task.taskRunner
        local_python = shlex.quote(sys.executable)
        commands = [
            "python" + c[len(local_python) :] if c.startswith(local_python) else c for c in commands
        ]
        collector = podspec.FileCollector(lambda line: self.line(line, False))
        with connect(ctx, runner.config) as (kube, default_namespace):
            plan = self._plan(task, ctx, runner, commands, default_namespace)
            pod = run_pod(kube, ctx, plan, collector)
        code = exit_code(pod, podspec.MAIN)
        if code is None:
            raise TaskFailed(f"The Pod {plan.namespace}/{plan.name} ended without an exit code")
        collector.extract(ctx.working_dir)
        outputs: dict[str, Any] = {
            "exitCode": code,
            "vars": self.vars,
            "stdOutLineCount": self.stdout_lines,
            "stdErrLineCount": self.stderr_lines,
        }
        if code != 0:
            raise TaskFailed(f"Command failed with exit code {code}", outputs)
        outputs["outputFiles"] = _store_outputs(task, ctx)
        return outputs

    def _plan(
        self,
        task: ScriptTask,
        ctx: RunContext,
        runner: KubernetesRunner,
        commands: list[str],
        default_namespace: str | None,
    ) -> PodPlan:
        namespace = props.text(ctx, runner.namespace)
        if runner.namespace == "default" and default_namespace:
            namespace = default_namespace
        name = podspec.pod_name(task.id)
        labels = _labels(ctx, runner)
        command = self._command(task, ctx, commands)  # may download files: before the Secret
        files = podspec.working_files(ctx.working_dir)
        secret, env_refs, items = podspec.attempt_secret(
            name, namespace, labels, self.env, files, task.id
        )
        volumes, mounts = podspec.file_volumes(name, items, str(ctx.working_dir))
        container = self._container(task, ctx, runner, command, env_refs, mounts)
        spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "enableServiceLinks": False,
            "automountServiceAccountToken": runner.serviceAccountName is not None,
            "containers": [container],
            "volumes": volumes,
        }
        if runner.serviceAccountName:
            spec["serviceAccountName"] = props.text(ctx, runner.serviceAccountName)
        if runner.nodeSelector:
            spec["nodeSelector"] = {k: props.text(ctx, v) for k, v in runner.nodeSelector.items()}
        annotations = {"weir.io/flow": f"{ctx.namespace}/{ctx.flow_id}", "weir.io/task": task.id}
        metadata = {"name": name, "namespace": namespace, "labels": labels}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {**metadata, "annotations": annotations},
            "spec": spec,
        }
        return PodPlan(
            namespace=namespace,
            pod=pod,
            secret=secret,
            container=podspec.MAIN,
            selector=f"weir.io/taskrun-id={labels['weir.io/taskrun-id']},weir.io/attempt={ctx.attempt}",
            delete=props.boolean(ctx, runner.delete),
            resume=props.boolean(ctx, runner.resume),
            wait_running=props.duration(ctx, runner.waitUntilRunning, "waitUntilRunning"),
            wait_completion=props.duration(ctx, runner.waitUntilCompletion, "waitUntilCompletion"),
        )

    def _container(
        self,
        task: ScriptTask,
        ctx: RunContext,
        runner: KubernetesRunner,
        command: list[str],
        env_refs: list[dict[str, Any]],
        mounts: list[dict[str, Any]],
    ) -> dict[str, Any]:
        workdir = str(ctx.working_dir)
        collect = "all" if task.outputFiles else "dir"
        container: dict[str, Any] = {
            "name": podspec.MAIN,
            "image": self._image(task, ctx),
            "imagePullPolicy": props.text(ctx, runner.pullPolicy),
            "command": podspec.wrap(command),
            "env": [*podspec.wrapper_env(workdir, OUTPUT_DIR_NAME, collect), *env_refs],
            "workingDir": workdir,
            "volumeMounts": mounts,
        }
        limits = podspec.resources(runner.resources.model_dump() if runner.resources else None)
        if limits:
            container["resources"] = {
                kind: {k: props.text(ctx, v) for k, v in values.items()}
                for kind, values in limits.items()
            }
        return container

    def _image(self, task: ScriptTask, ctx: RunContext) -> str:
        if task.containerImage is not None:
            return props.text(ctx, task.containerImage)
        return _DEFAULT_IMAGES[isinstance(task, PythonTask)]

    def _command(self, task: ScriptTask, ctx: RunContext, commands: list[str]) -> list[str]:
        interpreter = props.string_list(ctx, task.interpreter, "interpreter") or ["/bin/sh", "-c"]
        before = props.string_list(ctx, task.beforeCommands, "beforeCommands")
        if isinstance(task, PythonTask):
            dependencies = props.string_list(ctx, task.dependencies, "dependencies")
            if dependencies:
                pip = "python -m pip install --quiet --disable-pip-version-check"
                before.insert(0, " ".join([pip, *map(shlex.quote, dependencies)]))
        # kestra:// URIs named in the commands become files of the working directory.
        lines = [localise(ctx, line) for line in (*before, *commands)]
        if props.boolean(ctx, task.failFast) and interpreter[0].rsplit("/", 1)[-1] in (
            "sh", "bash", "dash", "zsh", "ksh",
        ):  # fmt: skip
            lines.insert(0, "set -e")
        return [*interpreter, "\n".join(lines)]
