"""Docker tasks (``io.kestra.plugin.docker.*``): run commands in a container, build an image."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynBool, DynStrList, Text
from controlplane.spec.plugins.scripts import ScriptTask
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_DOCKER = "io.kestra.plugin.docker"


@task(f"{_DOCKER}.Run")
class DockerRun(ScriptTask):
    """Commands in a container of ``containerImage`` (the Docker task runner's behaviour)."""

    containerImage: Text
    commands: DynStrList | None = None
    host: Text | None = None
    config: dict[str, Any] | Text | None = None
    credentials: dict[str, Any] | None = None
    pullPolicy: Text | None = None
    user: Text | None = None
    entryPoint: DynStrList | None = None
    extraHosts: DynStrList | None = None
    networkMode: Text | None = None
    volumes: DynStrList | None = None
    memory: dict[str, Any] | None = None
    cpu: dict[str, Any] | None = None
    shmSize: Text | None = None
    privileged: DynBool | None = None
    wait: DynBool = True
    portBindings: DynStrList | None = None
    deviceRequests: list[dict[str, Any]] | None = None


@task(f"{_DOCKER}.Build")
class DockerBuild(TaskSpec):
    """Builds an image from ``dockerfile`` (and ``inputFiles`` as the context), then pushes it."""

    dockerfile: Text
    tags: DynStrList
    platforms: DynStrList | None = None
    buildArgs: dict[str, Text] | None = None
    labels: dict[str, Text] | None = None
    push: DynBool = False
    pull: DynBool = True
    host: Text | None = None
    config: dict[str, Any] | Text | None = None
    credentials: dict[str, Any] | None = None
    inputFiles: dict[str, Any] | Text | None = None
    namespaceFiles: dict[str, Any] | None = None
