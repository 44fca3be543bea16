"""Script tasks (``io.kestra.plugin.scripts.*``) and the task runners they run on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynStrList, Spec, Text
from controlplane.spec.plugins.flow import NamespaceFiles
from controlplane.spec.registry import runner, task
from controlplane.spec.tasks import RunnerRef, TaskSpec

_SCRIPTS = "io.kestra.plugin.scripts"


@runner("io.kestra.plugin.core.runner.Process")
class ProcessRunner(Spec):
    """Runs the commands as a local process in the task's working directory."""

    type: str
    version: str | None = None


@runner(f"{_SCRIPTS}.runner.docker.Docker")
class DockerRunner(Spec):
    type: str
    version: str | None = None
    image: str | None = None
    pullPolicy: Literal["ALWAYS", "IF_NOT_PRESENT", "NEVER"] | None = None
    networkMode: str | None = None
    volumes: list[str] = Field(default_factory=list)
    user: str | None = None
    entryPoint: list[str] | None = None
    cpu: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None
    wait: bool = True
    delete: bool = True
    privileged: bool | None = None
    shmSize: str | None = None
    extraHosts: list[str] = Field(default_factory=list)
    host: str | None = None
    config: dict[str, Any] | str | None = None
    credentials: dict[str, Any] | None = None
    fileHandlingStrategy: Literal["MOUNT", "VOLUME"] | None = None


class DockerOptions(Spec):
    """Deprecated ``docker:`` block of script tasks (before ``taskRunner``)."""

    image: str | None = None
    pullPolicy: Literal["ALWAYS", "IF_NOT_PRESENT", "NEVER"] | None = None
    networkMode: str | None = None
    volumes: list[str] = Field(default_factory=list)
    user: str | None = None
    entryPoint: list[str] | None = None
    config: dict[str, Any] | str | None = None
    host: str | None = None
    cpu: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None
    shmSize: str | None = None
    extraHosts: list[str] = Field(default_factory=list)
    privileged: bool | None = None
    credentials: dict[str, Any] | None = None


class ScriptTask(TaskSpec):
    """What every script task shares: files in, commands run, files and outputs out."""

    taskRunner: RunnerRef | None = None
    containerImage: Text | None = None
    beforeCommands: DynStrList | None = None
    env: dict[str, Text] | str | None = None
    interpreter: DynStrList | None = None
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: list[str] | None = None
    namespaceFiles: NamespaceFiles | None = None
    warningOnStdErr: DynBool = False
    failFast: DynBool = True
    targetOS: Literal["LINUX", "WINDOWS", "AUTO"] = "AUTO"
    docker: DockerOptions | None = None
    runner: Literal["PROCESS", "DOCKER"] | None = None


class PythonTask(ScriptTask):
    dependencies: DynStrList | None = None
    pythonVersion: Text | None = None
    packageManager: Literal["PIP", "UV"] | None = None
    dependencyCacheEnabled: bool = True


@task(f"{_SCRIPTS}.python.Script")
class PythonScript(PythonTask):
    script: Text


@task(f"{_SCRIPTS}.python.Commands")
class PythonCommands(PythonTask):
    commands: DynStrList


@task(f"{_SCRIPTS}.shell.Script")
class ShellScript(ScriptTask):
    script: Text


@task(f"{_SCRIPTS}.shell.Commands")
class ShellCommands(ScriptTask):
    commands: DynStrList
