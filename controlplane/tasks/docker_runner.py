"""The Docker task runner (``io.kestra.plugin.scripts.runner.docker.Docker``): the commands run
in a container of the task's image, with the working directory mounted at the same path.

Before anything runs, the engine is asked for itself (``GET /_ping`` on the runner's ``host``,
``DOCKER_HOST`` or ``unix:///var/run/docker.sock``); when none answers, the task fails and says
so. It never falls back to the host's interpreters: the image decides what the script runs on.
"""

from __future__ import annotations

import http.client
import os
import shlex
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.scripts import DockerOptions, DockerRunner, PythonTask, ScriptTask
from controlplane.tasks import props
from controlplane.tasks.scripts import _OUTPUT_DIR, ScriptRun, _env, fill_working_dir

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_IMAGE = "ubuntu"
PYTHON_IMAGE = "python:3.13-slim"
_PING_SECONDS = 3.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path
        self.socket_timeout = timeout

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.socket_timeout)
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def connect(host: str, timeout: float | None = _PING_SECONDS) -> http.client.HTTPConnection:
    """An HTTP connection to the Docker engine at ``host`` (unix socket or TCP)."""
    parts = urlsplit(host)
    if parts.scheme == "unix":
        return _UnixConnection(parts.path, timeout)
    if parts.scheme in ("tcp", "http", "https") and parts.hostname:
        return http.client.HTTPConnection(parts.hostname, parts.port or 2375, timeout=timeout)
    raise ValueError(f"'{host}' is not a Docker host (unix:///path or tcp://host:port)")


def engine_problem(host: str) -> str | None:
    """Why no Docker engine answers at ``host``; None when one does."""
    try:
        connection = connect(host)
    except ValueError as exc:
        return str(exc)
    try:
        connection.request("GET", "/_ping")
        response = connection.getresponse()
        body = response.read(64)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        connection.close()
    if response.status != 200:
        return f"GET /_ping answered {response.status} {body!r}"
    return None


def _settings(task: ScriptTask) -> DockerRunner | DockerOptions | None:
    if isinstance(task.taskRunner, DockerRunner):
        return task.taskRunner
    return task.docker


def prepare_container(task: ScriptTask, ctx: RunContext) -> ScriptRun:
    settings = _settings(task)
    host = (settings.host if settings else None) or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    problem = engine_problem(host)
    if problem is not None:
        raise TaskFailed(
            f"Task '{task.id}' runs on the Docker task runner, but no Docker engine answers at "
            f"{host} ({problem}): start Docker or point DOCKER_HOST (or the runner's 'host') at "
            "one, or run the task on io.kestra.plugin.core.runner.Process"
        )
    fill_working_dir(task, ctx)
    image = props.optional_text(ctx, task.containerImage) or (settings.image if settings else None)
    image = image or (PYTHON_IMAGE if isinstance(task, PythonTask) else DEFAULT_IMAGE)
    run = ContainerScriptRun(ctx, {str(k): v for k, v in _env(task, ctx).items()}, [])
    run.host, run.image, run.settings = host, image, settings
    return run


class ContainerScriptRun(ScriptRun):
    """A ScriptRun whose commands run through ``docker run`` in the task's image."""

    host = DEFAULT_HOST
    image = DEFAULT_IMAGE
    settings: DockerRunner | DockerOptions | None = None
    docker_prefix: list[str]

    def run(self, task: ScriptTask, ctx: RunContext, commands: list[str]) -> dict[str, Any]:
        local_python = shlex.quote(sys.executable)
        commands = [
            "python" + c[len(local_python) :] if c.startswith(local_python) else c for c in commands
        ]
        if isinstance(task, PythonTask):
            packages = props.string_list(ctx, task.dependencies, "dependencies")
            if packages:
                install = "pip install --quiet " + " ".join(shlex.quote(p) for p in packages)
                commands.insert(0, install)
        workdir = str(ctx.working_dir)
        env = {**self.env, "WORKING_DIR": workdir, "OUTPUT_DIR": f"{workdir}/{_OUTPUT_DIR}"}
        docker = ["docker", "-H", self.host, "run", "--rm", "-i", "-v", f"{workdir}:{workdir}"]
        docker += ["-w", workdir]
        for key in sorted(env):
            docker += ["-e", key]
        docker += self._options()
        self.env = {**env, "DOCKER_HOST": self.host, "PATH": os.environ.get("PATH", "")}
        self.docker_prefix = [*docker, self.image]
        return super().run(task, ctx, commands)

    def start(self, ctx: RunContext, args: list[str]) -> int:
        return ctx.run_process([*self.docker_prefix, *args], env=self.env, on_line=self.line)

    def _options(self) -> list[str]:
        settings = self.settings
        if settings is None:
            return []
        options: list[str] = []
        if settings.user:
            options += ["--user", settings.user]
        if settings.networkMode:
            options += ["--network", settings.networkMode]
        for volume in settings.volumes:
            options += ["-v", volume]
        for host in settings.extraHosts:
            options += ["--add-host", host]
        if settings.entryPoint is not None:
            options += ["--entrypoint", " ".join(settings.entryPoint)]
        return options
