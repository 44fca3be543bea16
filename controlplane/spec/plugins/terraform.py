"""Terraform CLI task (``io.kestra.plugin.terraform.cli.TerraformCLI``), with Kestra's properties.

Kestra runs it in the ``hashicorp/terraform`` image by default; Weir runs the ``terraform`` found
on the worker's PATH, so ``containerImage`` (default kept as Kestra's) only matters to a
container task runner.
"""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynBool, DynStrList, Text
from controlplane.spec.plugins.flow import NamespaceFiles
from controlplane.spec.plugins.scripts import DockerOptions
from controlplane.spec.registry import task
from controlplane.spec.tasks import RunnerRef, TaskSpec

DEFAULT_IMAGE = "hashicorp/terraform"


@task("io.kestra.plugin.terraform.cli.TerraformCLI")
class TerraformCLI(TaskSpec):
    beforeCommands: DynStrList | None = None
    commands: DynStrList
    env: dict[str, Text] | str | None = None
    failFast: DynBool = True
    docker: DockerOptions | None = None
    taskRunner: RunnerRef | None = None
    containerImage: Text = DEFAULT_IMAGE
    namespaceFiles: NamespaceFiles | None = None
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: DynStrList | None = None
