"""Script tasks (python/shell Script and Commands) run as local processes.

The working directory gets the namespace files, then the ``inputFiles``; the commands run through
the ``interpreter`` (``/bin/sh -c``) with ``beforeCommands`` first. Standard output lines of the
form ``::{"outputs": {...}}::`` merge into ``vars``, ``::{"metrics": [...]}::`` become metrics and
``::{"logs": [...]}::`` log lines; other lines are logged (stdout at INFO, stderr at ERROR, or at
WARN with ``warningOnStdErr``, which then also ends the attempt in WARNING). Files matching
``outputFiles`` and every file written to ``{{ outputDir }}`` go to internal storage.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from controlplane.engine.attempt_context import OUTPUT_DIR_NAME
from controlplane.engine.globs import glob_match
from controlplane.engine.ports import LogLevel
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.durations import parse_duration
from controlplane.spec.plugins.kubernetes import KubernetesRunner
from controlplane.spec.plugins.scripts import (
    DockerRunner,
    PythonCommands,
    PythonScript,
    PythonTask,
    ScriptTask,
    ShellCommands,
    ShellScript,
)
from controlplane.tasks import props

_PROTOCOL = re.compile(r"^::(\{.*\})::$")
_STORAGE_URI = re.compile(r"kestra://[-a-zA-Z0-9%._+~#=/]*")
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh"}
_OUTPUT_DIR = OUTPUT_DIR_NAME


@runs(ShellScript)
def run_shell_script(task: ShellScript, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    path = _write_script(ctx, props.text(ctx, task.script), ".sh")
    return script.run(task, ctx, [f"/bin/sh {shlex.quote(str(path))}"])


@runs(ShellCommands)
def run_shell_commands(task: ShellCommands, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    return script.run(task, ctx, props.string_list(ctx, task.commands, "commands"))


@runs(PythonScript)
def run_python_script(task: PythonScript, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    path = _write_script(ctx, props.text(ctx, task.script), ".py")
    return script.run(task, ctx, [f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"])


@runs(PythonCommands)
def run_python_commands(task: PythonCommands, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    return script.run(task, ctx, props.string_list(ctx, task.commands, "commands"))


class ScriptRun:
    """One script run: its environment, its output protocol state and its outputs."""

    def __init__(self, ctx: RunContext, env: dict[str, str], scratch: list[Path]) -> None:
        self.ctx = ctx
        self.env = env
        self.scratch = scratch
        self.vars: dict[str, Any] = {}
        self.stdout_lines = 0
        self.stderr_lines = 0
        self.stderr_level: LogLevel = "ERROR"

    def run(self, task: ScriptTask, ctx: RunContext, commands: list[str]) -> dict[str, Any]:
        if props.boolean(ctx, task.warningOnStdErr):
            self.stderr_level = "WARN"
        interpreter = props.string_list(ctx, task.interpreter, "interpreter") or ["/bin/sh", "-c"]
        before = props.string_list(ctx, task.beforeCommands, "beforeCommands")
        lines = [localise(ctx, line) for line in (*before, *commands)]
        if props.boolean(ctx, task.failFast) and Path(interpreter[0]).name in _SHELLS:
            lines.insert(0, "set -e")
        try:
            code = self.start(ctx, [*interpreter, "\n".join(lines)])
        finally:
            for path in self.scratch:
                shutil.rmtree(path, ignore_errors=True)
        outputs: dict[str, Any] = {
            "exitCode": code,
            "vars": self.vars,
            "stdOutLineCount": self.stdout_lines,
            "stdErrLineCount": self.stderr_lines,
        }
        if code != 0:
            raise TaskFailed(f"Command failed with exit code {code}", outputs)
        outputs["outputFiles"] = _store_outputs(task, ctx)
        if self.stderr_lines and self.stderr_level == "WARN":
            ctx.warn()
        return outputs

    def start(self, ctx: RunContext, args: list[str]) -> int:
        """Run the commands' process and return its exit code (a container runner wraps it)."""
        return ctx.run_process(args, env=self.env, on_line=self.line)

    def line(self, line: str, is_stderr: bool) -> None:
        if is_stderr:
            self.stderr_lines += 1
            self.ctx.log(self.stderr_level, line)
            return
        self.stdout_lines += 1
        match = _PROTOCOL.match(line.strip())
        if match is None or not self._protocol(match.group(1)):
            self.ctx.info(line)

    def _protocol(self, payload: str) -> bool:
        try:
            message = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(message, dict):
            return False
        if isinstance(message.get("outputs"), dict):
            self.vars.update(message["outputs"])
        for metric in message.get("metrics") or []:
            self._metric(metric)
        for entry in message.get("logs") or []:
            if isinstance(entry, dict):
                level = str(entry.get("level", "INFO")).upper()
                self.ctx.log(_LEVELS.get(level, "INFO"), str(entry.get("message", "")))
        return True

    def _metric(self, metric: Any) -> None:
        if not isinstance(metric, dict) or "name" not in metric:
            return
        value = metric.get("value", 0)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = parse_duration(str(value)).total_seconds()
        tags = metric.get("tags") or {}
        self.ctx.metric(
            str(metric["name"]),
            number,
            str(metric.get("type", "counter")),
            **{str(k): str(v) for k, v in tags.items()},
        )


_LEVELS: dict[str, LogLevel] = {
    "TRACE": "TRACE",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
}


def prepare(task: ScriptTask, ctx: RunContext) -> ScriptRun:
    """Pick the task runner, fill the working directory, build the environment."""
    if isinstance(task.taskRunner, KubernetesRunner):
        from controlplane.tasks.kubernetes.scriptpod import prepare_pod  # imports this module

        return prepare_pod(task, ctx)
    if _wants_container(task):
        from controlplane.tasks.docker_runner import prepare_container  # imports this module

        return prepare_container(task, ctx)
    if task.containerImage is not None:
        ctx.info(
            "containerImage is for container task runners; this task runs on the Process runner "
            "(Weir's default), so the image is not used"
        )
    workdir = fill_working_dir(task, ctx)
    output_dir = workdir / _OUTPUT_DIR
    env = {str(k): v for k, v in _env(task, ctx).items()}
    # A PATH of the task's env comes first; Weir's Python and the worker's PATH follow it.
    path = [env["PATH"]] if env.get("PATH") else []
    path += [os.path.dirname(sys.executable), os.environ.get("PATH", "")]
    env.update(
        {
            "WORKING_DIR": str(workdir),
            "OUTPUT_DIR": str(output_dir),
            "PYTHONUNBUFFERED": "1",
            "PATH": os.pathsep.join(path),
        }
    )
    scratch: list[Path] = []
    if isinstance(task, PythonTask):
        _install_dependencies(task, ctx, env, scratch)
    return ScriptRun(ctx, env, scratch)


def fill_working_dir(task: ScriptTask, ctx: RunContext) -> Path:
    """Put the namespace files, then the ``inputFiles``, into the working directory."""
    workdir = ctx.working_dir
    output_dir = workdir / _OUTPUT_DIR
    output_dir.mkdir(exist_ok=True)
    if task.namespaceFiles is not None and task.namespaceFiles.enabled:
        files = ctx.namespace_files(task.namespaceFiles.include, task.namespaceFiles.exclude)
        for name, data in files.items():
            target_path(workdir, name).write_bytes(data)
    for name, content in _input_files(task, ctx).items():
        target = target_path(workdir, name)
        if content.startswith("kestra://"):
            with ctx.open_file(content) as stream, target.open("wb") as out:
                shutil.copyfileobj(stream, out)
        else:
            target.write_text(content, encoding="utf-8")
    return workdir


def _wants_container(task: ScriptTask) -> bool:
    """The Docker task runner, named by ``taskRunner`` or by the older ``docker``/``runner``."""
    return (
        isinstance(task.taskRunner, DockerRunner)
        or task.docker is not None
        or task.runner == "DOCKER"
    )


def _input_files(task: ScriptTask, ctx: RunContext) -> dict[str, str]:
    files = props.mapping(ctx, task.inputFiles, "inputFiles")
    return {name: props.text(ctx, value) for name, value in files.items()}


def _env(task: ScriptTask, ctx: RunContext) -> dict[str, str]:
    env = props.mapping(ctx, task.env, "env")
    return {k: props.text(ctx, v) if isinstance(v, str) else json.dumps(v) for k, v in env.items()}


def target_path(workdir: Path, name: str) -> Path:
    target = (workdir / name).resolve()
    if not target.is_relative_to(workdir.resolve()):
        raise TaskFailed(f"the input file '{name}' would be written outside the working directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _write_script(ctx: RunContext, source: str, suffix: str) -> Path:
    path = ctx.working_dir / f"_weir_script_{secrets.token_hex(4)}{suffix}"
    path.write_text(localise(ctx, source), encoding="utf-8")
    return path


def localise(ctx: RunContext, text: str) -> str:
    """Download every ``kestra://`` URI named in ``text`` into the working directory and put
    the local path in its place, as Kestra does for a script's rendered commands."""

    def download(match: re.Match[str]) -> str:
        suffix = Path(match.group()).suffix
        target = ctx.working_dir / f"_weir_input_{secrets.token_hex(6)}{suffix}"
        with ctx.open_file(match.group()) as stream, target.open("wb") as out:
            shutil.copyfileobj(stream, out)
        return str(target)

    return _STORAGE_URI.sub(download, text)


def _install_dependencies(
    task: PythonTask, ctx: RunContext, env: dict[str, str], scratch: list[Path]
) -> None:
    """pip-install into a directory of this attempt (outside the working directory, so that
    ``outputFiles`` globs never match it) and put it on PYTHONPATH."""
    dependencies = props.string_list(ctx, task.dependencies, "dependencies")
    if not dependencies:
        return
    target = ctx.scratch_dir("weir-deps-")
    scratch.append(target)
    ctx.info(f"Installing Python dependencies {', '.join(dependencies)} into {target}")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    code = ctx.run_process([*pip, "--target", str(target), *dependencies], env=env)
    if code != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise TaskFailed(
            f"Could not install the Python dependencies {', '.join(dependencies)}: "
            f"pip exited with code {code} (see the lines above)"
        )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), env.get("PYTHONPATH", "")) if p)


def _store_outputs(task: ScriptTask, ctx: RunContext) -> dict[str, str]:
    workdir = ctx.working_dir
    patterns = task.outputFiles or []
    stored: dict[str, str] = {}
    for path in sorted(p for p in workdir.rglob("*") if p.is_file()):
        relative = path.relative_to(workdir).as_posix()
        in_output_dir = relative.startswith(_OUTPUT_DIR + "/")
        name = relative.removeprefix(_OUTPUT_DIR + "/") if in_output_dir else relative
        if in_output_dir or any(glob_match(p, relative) for p in patterns):
            stored[name] = ctx.put_file(name, path)
    return stored
