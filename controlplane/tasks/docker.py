"""Docker tasks. ``docker.Run`` runs its commands as a script task on the Docker task runner
(the engine is asked for itself first, and its absence fails the task). ``docker.Build``,
``docker.Tag`` and ``docker.Push`` talk to the engine's API: the Dockerfile and ``inputFiles`` go
as the build context of ``POST /build``; a tag is ``POST /images/{name}/tag``; each tag is pushed
with ``POST /images/{name}/push`` (by Build when ``push`` is set)."""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import urllib.parse
from collections.abc import Iterator
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.docker import (
    DockerApiTask,
    DockerBuild,
    DockerPush,
    DockerRun,
    DockerTag,
)
from controlplane.spec.plugins.scripts import DockerOptions
from controlplane.tasks import props
from controlplane.tasks.docker_runner import DEFAULT_HOST, connect, engine_problem
from controlplane.tasks.scripts import prepare


@runs(DockerRun)
def run_docker_run(task: DockerRun, ctx: RunContext) -> dict[str, Any]:
    options = DockerOptions(
        image=props.text(ctx, task.containerImage),
        host=props.optional_text(ctx, task.host),
        user=props.optional_text(ctx, task.user),
        networkMode=props.optional_text(ctx, task.networkMode),
        volumes=props.string_list(ctx, task.volumes, "volumes"),
        extraHosts=props.string_list(ctx, task.extraHosts, "extraHosts"),
        entryPoint=props.string_list(ctx, task.entryPoint, "entryPoint") or None,
    )
    container = task.model_copy(update={"docker": options})
    script = prepare(container, ctx)
    return script.run(container, ctx, props.string_list(ctx, task.commands, "commands"))


def _host(task: DockerApiTask, ctx: RunContext) -> str:
    host = props.optional_text(ctx, task.host) or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    problem = engine_problem(host)
    if problem is not None:
        raise TaskFailed(
            f"Task '{task.id}' needs a Docker engine, but none answers at {host} ({problem}): "
            "start Docker or point DOCKER_HOST (or the task's 'host') at one"
        )
    return host


def _context(task: DockerBuild, ctx: RunContext) -> bytes:
    """The build context: the Dockerfile and the input files, as a tar archive."""
    files = {"Dockerfile": props.text(ctx, task.dockerfile).encode()}
    for name, value in props.mapping(ctx, task.inputFiles, "inputFiles").items():
        content = props.text(ctx, value) if isinstance(value, str) else str(value)
        if content.startswith("kestra://"):
            with ctx.open_file(content) as stream:
                files[str(name)] = stream.read()
        else:
            files[str(name)] = content.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _messages(
    host: str, method: str, path: str, body: bytes, headers: dict[str, str]
) -> Iterator[Any]:
    """The JSON messages the engine streams back; TaskFailed on an error status or message."""
    connection = connect(host, timeout=None)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        if response.status >= 400:
            detail = response.read(2000).decode(errors="replace")
            where = path.split("?")[0]
            raise TaskFailed(f"the Docker engine answered {response.status} to {where}: {detail}")
        for raw in response:
            line = raw.strip()
            if not line:
                continue
            message = json.loads(line)
            if isinstance(message, dict) and message.get("error"):
                raise TaskFailed(f"Docker: {message['error']}")
            yield message
    finally:
        connection.close()


@runs(DockerBuild)
def run_docker_build(task: DockerBuild, ctx: RunContext) -> dict[str, Any]:
    host = _host(task, ctx)
    tags = props.string_list(ctx, task.tags, "tags")
    query: list[tuple[str, str]] = [("t", tag) for tag in tags]
    if task.buildArgs:
        args = {k: props.text(ctx, v) for k, v in task.buildArgs.items()}
        query.append(("buildargs", json.dumps(args)))
    if task.labels:
        query.append(
            ("labels", json.dumps({k: props.text(ctx, v) for k, v in task.labels.items()}))
        )
    platforms = props.string_list(ctx, task.platforms, "platforms")
    if platforms:
        query.append(("platform", ",".join(platforms)))
    if props.boolean(ctx, task.pull):
        query.append(("pull", "1"))
    path = "/build?" + urllib.parse.urlencode(query)
    image_id = None
    headers = {"Content-Type": "application/x-tar"}
    for message in _messages(host, "POST", path, _context(task, ctx), headers):
        if "stream" in message and str(message["stream"]).strip():
            ctx.info(str(message["stream"]).rstrip())
        aux = message.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = aux["ID"]
    if image_id is None:
        raise TaskFailed("the Docker engine ended the build without an image id")
    if props.boolean(ctx, task.push):
        for tag in tags:
            _push(host, tag, _auth(task, ctx), ctx)
    return {"imageId": image_id}


def _auth(task: DockerApiTask, ctx: RunContext) -> str:
    """The X-Registry-Auth header: the credentials as base64url JSON (``{}`` without any)."""
    raw = task.credentials or {}
    fields = {"username": "username", "password": "password", "registry": "serveraddress"}
    auth = {target: props.text(ctx, raw[name]) for name, target in fields.items() if raw.get(name)}
    return base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()


def _push(host: str, tag: str, auth: str, ctx: RunContext) -> None:
    name, _, version = tag.rpartition(":")
    if not name or "/" in version:
        name, version = tag, "latest"
    path = f"/images/{urllib.parse.quote(name, safe='')}/push?tag={urllib.parse.quote(version)}"
    for message in _messages(host, "POST", path, b"", {"X-Registry-Auth": auth}):
        if message.get("status"):
            ctx.debug(str(message["status"]))
    ctx.info(f"Pushed {name}:{version}")


@runs(DockerPush)
def run_docker_push(task: DockerPush, ctx: RunContext) -> dict[str, Any]:
    tags = props.string_list(ctx, task.tags, "tags")
    if not tags:
        raise TaskFailed("'tags' must name at least one image to push")
    host = _host(task, ctx)
    auth = _auth(task, ctx)
    for tag in dict.fromkeys(t.split("://", 1)[-1] for t in tags):
        _push(host, tag, auth, ctx)
    return {}


@runs(DockerTag)
def run_docker_tag(task: DockerTag, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.sourceImage)
    target = props.text(ctx, task.targetImage)
    repository, tag = target, "latest"
    if target.rfind(":") > target.rfind("/"):
        repository, _, tag = target.rpartition(":")
    host = _host(task, ctx)
    ctx.info(f"Tagging image {source} as {repository}:{tag}")
    query = urllib.parse.urlencode({"repo": repository, "tag": tag})
    path = f"/images/{urllib.parse.quote(source, safe='')}/tag?{query}"
    for _ in _messages(host, "POST", path, b"", {}):
        pass
    return {}
