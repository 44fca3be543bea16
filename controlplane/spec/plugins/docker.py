"""Docker tasks (``io.kestra.plugin.docker.*``): run commands in a container, build, tag and push
an image."""

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


class DockerApiTask(TaskSpec):
    """A task that talks to the Docker engine's API at ``host`` (``DOCKER_HOST`` without it)."""

    host: Text | None = None
    config: dict[str, Any] | Text | None = None
    credentials: dict[str, Any] | None = None


@task(f"{_DOCKER}.Build", f"{_DOCKER}.cli.Build")
class DockerBuild(DockerApiTask):
    """Builds an image from ``dockerfile`` (and ``inputFiles`` as the context), then pushes it."""

    dockerfile: Text
    tags: DynStrList
    platforms: DynStrList | None = None
    buildArgs: dict[str, Text] | None = None
    labels: dict[str, Text] | None = None
    push: DynBool = False
    pull: DynBool = True
    inputFiles: dict[str, Any] | Text | None = None
    namespaceFiles: dict[str, Any] | None = None


@task(f"{_DOCKER}.Push", f"{_DOCKER}.cli.Push")
class DockerPush(DockerApiTask):
    """Pushes each of ``tags`` (images the engine has) to its registry with ``credentials``."""

    tags: DynStrList


@task(f"{_DOCKER}.Tag", f"{_DOCKER}.cli.Tag")
class DockerTag(DockerApiTask):
    """Tags ``sourceImage`` (a name or an image id) as ``targetImage`` (``latest`` when it names
    no tag)."""

    sourceImage: Text
    targetImage: Text
