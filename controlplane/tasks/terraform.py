"""TerraformCLI: commands run with the ``terraform`` of the worker's PATH, as a script task.

The working directory gets the namespace files and ``inputFiles``; ``beforeCommands`` then
``commands`` run through ``/bin/sh -c`` (``set -e`` with ``failFast``) with
``TF_IN_AUTOMATION=1``; standard-error lines are warnings, as in Kestra. Outputs are a script's
(``exitCode``, ``vars``, ``outputFiles``...) plus, when the working directory holds a Terraform
state after the commands, the root module's outputs under ``outputs`` (``terraform output
-json``). Sensitive outputs are left out, and no output value is ever logged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.scripts import ScriptTask
from controlplane.spec.plugins.terraform import TerraformCLI
from controlplane.tasks import props
from controlplane.tasks.scripts import prepare

_STATES = ("terraform.tfstate", ".terraform/terraform.tfstate")
"""A local state, or the backend configuration ``terraform init`` writes for a remote one."""


@runs(TerraformCLI)
def run_terraform(task: TerraformCLI, ctx: RunContext) -> dict[str, Any]:
    script_task = _as_script(task, ctx)
    script = prepare(script_task, ctx)
    if shutil.which("terraform", path=script.env.get("PATH")) is None:
        raise TaskFailed(
            "terraform is not installed on this worker: put the terraform CLI on its PATH "
            "(https://developer.hashicorp.com/terraform/install)"
        )
    script.env.setdefault("TF_IN_AUTOMATION", "1")
    outputs = script.run(script_task, ctx, props.string_list(ctx, task.commands, "commands"))
    if any((ctx.working_dir / state).is_file() for state in _STATES):
        outputs["outputs"] = _root_outputs(ctx, script.env, ctx.working_dir)
    return outputs


def _as_script(task: TerraformCLI, ctx: RunContext) -> ScriptTask:
    """The script-task view of ``task``: Kestra's TerraformCLI is a shell script task that
    always warns on standard error. A container is asked for only when the flow says so."""
    image = task.containerImage if "containerImage" in task.model_fields_set else None
    return ScriptTask.model_construct(
        id=task.id,
        type=task.type,
        taskRunner=task.taskRunner,
        containerImage=image,
        beforeCommands=task.beforeCommands,
        env=task.env,
        inputFiles=task.inputFiles,
        outputFiles=props.string_list(ctx, task.outputFiles, "outputFiles") or None,
        namespaceFiles=task.namespaceFiles,
        warningOnStdErr=True,
        failFast=task.failFast,
        docker=task.docker,
    )


def _root_outputs(ctx: RunContext, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """Non-sensitive root-module outputs by name; a failure to read them is a warning."""
    stdout: list[str] = []

    def on_line(line: str, is_stderr: bool) -> None:
        if is_stderr:
            ctx.warning(line)
        else:
            stdout.append(line)

    code = ctx.run_process(
        ["terraform", "output", "-json", "-no-color"], env=env, cwd=workdir, on_line=on_line
    )
    try:
        found = json.loads("\n".join(stdout)) if code == 0 else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        ctx.warning(f"Could not read the Terraform outputs (terraform output exited with {code})")
        return {}
    outputs: dict[str, Any] = {}
    for name, output in sorted(found.items()):
        if not isinstance(output, dict):
            continue
        if output.get("sensitive"):
            ctx.info(f"Terraform output '{name}' is sensitive: left out of the task's outputs")
            continue
        outputs[name] = output.get("value")
    return outputs
