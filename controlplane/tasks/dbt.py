"""dbt-core CLI tasks run as local processes.

``DbtCLI`` runs its ``commands`` like a shell script task (working directory filled with the
namespace files and ``inputFiles`` first). Each command that starts with ``dbt`` gets
``--project-dir`` (from ``projectDir``), ``--log-format`` (from ``logFormat``) and ``--log-path
logs`` unless it already has them; ``profiles`` is written to ``profiles.yml`` in the working
directory and named by ``DBT_PROFILES_DIR``. The per-command tasks (``Build``, ``Run``...) run one
dbt command built from their properties, with ``profiles`` in ``.profile/profiles.yml``.

dbt's JSON log lines are logged at their own level (a warning ends the attempt in WARNING). After
each dbt command its ``target/run_results.json`` is kept; once the commands end, every node result
is logged, measured (``execution.time``, ``rows.affected``, ``nodes`` by status) and returned in
the ``nodes`` output by unique id. ``run_results.json`` and ``manifest.json`` go to internal
storage (``outputFiles``). A failed node fails the task with a message naming it, the outputs
kept on the failure.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.dbt import (
    DbtBuild,
    DbtCLI,
    DbtCommandTask,
    DbtCompile,
    DbtDeps,
    DbtFreshness,
    DbtList,
    DbtRun,
    DbtSeed,
    DbtSetup,
    DbtSnapshot,
    DbtTest,
    KvStoreManifest,
    Profiles,
)
from controlplane.spec.plugins.scripts import ScriptTask
from controlplane.tasks import props
from controlplane.tasks.dbt_results import (
    ANSI,
    FAILED,
    invocation_id,
    invocation_of,
    log_event,
    read_json,
    report_run_results,
    stamp,
)
from controlplane.tasks.scripts import ScriptRun, prepare

_DBT_COMMAND = re.compile(r"^dbt(\s|$)")
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh"}
_RUN_RESULTS = Path("target") / "run_results.json"
_MANIFEST = Path("target") / "manifest.json"
_SNAPSHOTS = "WEIR_DBT_RESULTS"
_KEEP_RESULTS = (
    "_weir_dbt_done() { "
    'if [ -f "$2/target/run_results.json" ]; then '
    "_weir_dbt_n=$((${_weir_dbt_n:-0} + 1)); "
    f'cp "$2/target/run_results.json" "${_SNAPSHOTS}/$_weir_dbt_n.json" || true; '
    'fi; return "$1"; }'
)
"""Shell function run after each dbt command: keeps a copy of its run_results.json."""

_INSTALL_HINT = (
    "install dbt-core and an adapter on the worker (pip install dbt-core dbt-duckdb) and put the "
    "directory holding dbt on PATH (the task's env PATH is searched first)"
)


@runs(DbtCLI)
def run_dbt_cli(task: DbtCLI, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    workdir = ctx.working_dir
    project_dir = props.optional_text(ctx, task.projectDir)
    project = _project(workdir, project_dir)
    ctx.info(f"dbt project directory: {project}")
    if task.loadManifest is not None:
        _load_manifest(ctx, task.loadManifest, project)
    _profiles_dir(task, ctx, script.env, workdir, project)
    commands = [
        _with_flags(command, project_dir, task.logFormat)
        if _DBT_COMMAND.match(command)
        else command
        for command in props.string_list(ctx, task.commands, "commands")
    ]
    if _needs_dbt_now(task, ctx, commands) and shutil.which("dbt", path=script.env["PATH"]) is None:
        raise TaskFailed(_missing_dbt(cli=True))
    if _is_shell(task, ctx):
        dir_arg = shlex.quote(project_dir or ".")
        commands = [_KEEP_RESULTS, *(_keep_results(c, dir_arg) for c in commands)]
    run = DbtScriptRun(
        script, project, props.boolean(ctx, task.parseRunResults), task.storeManifest
    )
    return run.execute(task, commands)


def _run_dbt_command(task: DbtCommandTask, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    workdir = ctx.working_dir
    project = _project(workdir, props.optional_text(ctx, task.projectDir))
    profiles_dir = workdir / ".profile"
    if task.profiles is not None:
        _write_profiles(ctx, task.profiles, profiles_dir / "profiles.yml")
    args = [_find_dbt(task, ctx, workdir, script.env["PATH"]), *task.dbt_command.split()]
    args += ["--log-format", "json", *_command_flags(task, ctx)]
    if (profiles_dir / "profiles.yml").is_file():
        args += ["--profiles-dir", str(profiles_dir)]
    args += ["--project-dir", str(project)]
    parse = task.parses_results and props.boolean(ctx, task.parseRunResults)
    return DbtScriptRun(script, project, parse, None).execute(task, [shlex.join(args)])


_COMMAND_TASKS = (DbtBuild, DbtRun, DbtTest, DbtCompile, DbtSeed, DbtSnapshot, DbtDeps, DbtList)
for _model in (*_COMMAND_TASKS, DbtFreshness):
    runs(_model)(_run_dbt_command)


@runs(DbtSetup)
def run_setup(task: DbtSetup, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    workdir = ctx.working_dir
    _write_profiles(ctx, task.profiles, workdir / ".profile" / "profiles.yml")
    python = props.text(ctx, task.pythonPath)
    requirements = props.string_list(ctx, task.requirements, "requirements")
    commands = [f"{shlex.quote(python)} -m venv --system-site-packages {shlex.quote(str(workdir))}"]
    if requirements:
        pip = ["./bin/pip", "install", "--quiet", "--disable-pip-version-check"]
        commands.append(shlex.join([*pip, *requirements]))
    ctx.info(f"Creating a virtualenv in {workdir} with {', '.join(requirements) or 'no packages'}")
    return script.run(task, ctx, commands)


class DbtScriptRun(ScriptRun):
    """A script run that reads dbt's JSON log lines and, at the end, its run results."""

    def __init__(
        self,
        base: ScriptRun,
        project: Path,
        parse_results: bool,
        store_manifest: KvStoreManifest | None,
    ) -> None:
        super().__init__(base.ctx, base.env, base.scratch)
        self.project = project
        self.parse_results = parse_results
        self.store_manifest = store_manifest
        self.warned = False
        self.stale = invocation_id(project / _RUN_RESULTS)
        """The invocation of a run_results.json already there: not this task's."""
        self.old_manifest = stamp(project / _MANIFEST)

    def line(self, line: str, is_stderr: bool) -> None:
        event = log_event(line)
        if event is None:
            super().line(ANSI.sub("", line), is_stderr)
            return
        if is_stderr:
            self.stderr_lines += 1
        else:
            self.stdout_lines += 1
        level, message = event
        self.warned = self.warned or level == "WARN"
        if message.strip():
            self.ctx.log(level, message)

    def execute(self, task: ScriptTask, commands: list[str]) -> dict[str, Any]:
        ctx = self.ctx
        snapshots = ctx.scratch_dir("weir-dbt-")
        self.env[_SNAPSHOTS] = str(snapshots)
        failure: TaskFailed | None = None
        try:
            try:
                outputs = self.run(task, ctx, commands)
            except TaskFailed as failed:
                failure, outputs = failed, dict(failed.outputs)
            invocations = self._invocations(snapshots) if self.parse_results else []
        finally:
            shutil.rmtree(snapshots, ignore_errors=True)
        files: dict[str, str] = dict(outputs.get("outputFiles") or {})
        self._manifest(files)
        nodes: dict[str, dict[str, Any]] = {}
        for results in invocations:
            nodes.update(report_run_results(self.ctx, results))
        if self.parse_results:
            outputs["nodes"] = nodes
            if invocations and invocation_id(self.project / _RUN_RESULTS) != self.stale:
                files["run_results.json"] = ctx.put_file(
                    "run_results.json", self.project / _RUN_RESULTS
                )
        outputs["outputFiles"] = files
        if failure is not None:
            raise TaskFailed(self._failure(failure, outputs, nodes), outputs)
        if self.warned or any(node["status"] == "warn" for node in nodes.values()):
            ctx.warn()
        return outputs

    def _invocations(self, snapshots: Path) -> list[dict[str, Any]]:
        """The run results of each dbt invocation of this run, in order, once each."""
        paths = sorted(snapshots.glob("*.json"), key=lambda p: int(p.stem))
        paths.append(self.project / _RUN_RESULTS)
        seen = {self.stale}
        found: list[dict[str, Any]] = []
        for path in paths:
            results = read_json(path)
            invocation = invocation_of(results)
            if results is None or invocation in seen:
                continue
            seen.add(invocation)
            found.append(results)
        return found

    def _manifest(self, files: dict[str, str]) -> None:
        """Keep a manifest.json that dbt wrote during this run."""
        path = self.project / _MANIFEST
        if not path.is_file() or stamp(path) == self.old_manifest:
            return
        files["manifest.json"] = self.ctx.put_file("manifest.json", path)
        if self.store_manifest is None:
            return
        manifest = read_json(path)
        if manifest is None:
            self.ctx.warning(f"{path} is not valid JSON: it is not stored in the KV store")
            return
        namespace = props.text(self.ctx, self.store_manifest.namespace)
        key = props.text(self.ctx, self.store_manifest.key)
        self.ctx.kv_set(namespace, key, manifest, "JSON", None)
        self.ctx.info(f"Stored manifest.json in the KV store as '{key}' of namespace '{namespace}'")

    def _failure(
        self,
        failure: TaskFailed,
        outputs: Mapping[str, Any],
        nodes: Mapping[str, Mapping[str, Any]],
    ) -> str:
        """The failed nodes, else dbt missing, else the script's own failure."""
        code = outputs.get("exitCode")
        failed = [
            f"{unique_id} ({node['status']}" + (f": {node['message']})" if node["message"] else ")")
            for unique_id, node in nodes.items()
            if node["status"] in FAILED
        ]
        if failed:
            return f"dbt failed with exit code {code}; failed nodes: {', '.join(failed)}"
        if code == 127 and shutil.which("dbt", path=self.env["PATH"]) is None:
            return _missing_dbt(cli=True)
        return str(failure)


def _project(workdir: Path, project_dir: str | None) -> Path:
    return workdir / project_dir if project_dir else workdir


def _with_flags(command: str, project_dir: str | None, log_format: str) -> str:
    if project_dir and "--project-dir" not in command:
        command += f" --project-dir {shlex.quote(project_dir)}"
    if log_format != "NONE" and "--log-format" not in command:
        command += f" --log-format {log_format.lower()}"
    if "--log-path" not in command:
        command += " --log-path logs"
    return command


def _keep_results(command: str, dir_arg: str) -> str:
    """``command``, then a copy of its run results; its exit status is kept (and ends the script
    under ``set -e``). Multi-line commands are left as they are."""
    if not _DBT_COMMAND.match(command) or "\n" in command.strip():
        return command
    return f"if {command}\nthen _weir_dbt_done 0 {dir_arg}\nelse _weir_dbt_done $? {dir_arg}\nfi"


def _needs_dbt_now(task: DbtCLI, ctx: RunContext, commands: list[str]) -> bool:
    """Whether dbt must be on PATH before the script starts: its first command is dbt and no
    beforeCommands may install it."""
    if not commands or not _DBT_COMMAND.match(commands[0]):
        return False
    return not props.string_list(ctx, task.beforeCommands, "beforeCommands")


def _is_shell(task: ScriptTask, ctx: RunContext) -> bool:
    interpreter = props.string_list(ctx, task.interpreter, "interpreter") or ["/bin/sh"]
    return Path(interpreter[0]).name in _SHELLS


def _profiles_dir(
    task: DbtCLI, ctx: RunContext, env: dict[str, str], workdir: Path, project: Path
) -> None:
    """Write ``profiles`` and point dbt at it; else use a profiles.yml of the project."""
    if "DBT_PROFILES_DIR" in env:
        if task.profiles is not None:
            _write_profiles(ctx, task.profiles, workdir / "profiles.yml")
        return
    if task.profiles is not None:
        _write_profiles(ctx, task.profiles, workdir / "profiles.yml")
        env["DBT_PROFILES_DIR"] = str(workdir)
    elif not (workdir / "profiles.yml").is_file() and (project / "profiles.yml").is_file():
        env["DBT_PROFILES_DIR"] = str(project)


def _write_profiles(ctx: RunContext, profiles: Profiles, path: Path) -> None:
    if isinstance(profiles, dict):
        content = yaml.safe_dump(ctx.render(profiles), sort_keys=False)
    else:
        content = props.text(ctx, profiles)
    if not content.strip():
        return
    if path.exists():
        ctx.info(f"The existing {path.name} in {path.parent} is replaced by the task's profiles")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def _load_manifest(ctx: RunContext, where: KvStoreManifest, project: Path) -> None:
    namespace = props.text(ctx, where.namespace)
    key = props.text(ctx, where.key)
    entry = ctx.kv_get(namespace, key)
    if entry is None or entry.value is None or not str(entry.value).strip():
        ctx.warning(
            f"loadManifest: no manifest was found in the KV store as '{key}' of namespace "
            f"'{namespace}'; dbt runs without it"
        )
        return
    value = entry.value
    content = value if isinstance(value, str) else json.dumps(value)
    target = project / _MANIFEST
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    ctx.info(f"Loaded manifest.json from the KV store into {target}")


def _command_flags(task: DbtCommandTask, ctx: RunContext) -> list[str]:
    flags: list[str] = []
    for name, flag in (
        ("debug", "--debug"),
        ("failFast", "--fail-fast"),
        ("warnError", "--warn-error"),
        ("fullRefresh", "--full-refresh"),
    ):
        if props.boolean(ctx, getattr(task, name)):
            flags.append(flag)
    if task.thread is not None:
        flags += ["--threads", _threads(ctx, task.thread)]
    for name, flag in (("target", "--target"), ("selector", "--selector")):
        value = props.optional_text(ctx, getattr(task, name))
        if value:
            flags += [flag, value]
    for name, flag in (("select", "--select"), ("exclude", "--exclude")):
        items = props.string_list(ctx, getattr(task, name), name)
        words = [word for item in items for word in item.split()]
        if words:
            flags += [flag, *words]
    return flags


def _threads(ctx: RunContext, value: int | str) -> str:
    threads = props.integer(ctx, value, "thread")
    if threads < 1:
        raise TaskFailed(f"'thread' must be at least 1, got {threads}")
    return str(threads)


def _find_dbt(task: DbtCommandTask, ctx: RunContext, workdir: Path, path: str) -> str:
    """``dbtPath`` when it exists (relative to the working directory), else dbt on PATH."""
    wanted = props.text(ctx, task.dbtPath)
    if "/" in wanted:
        candidate = Path(wanted) if Path(wanted).is_absolute() else workdir / wanted
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    elif found := shutil.which(wanted, path=path):
        return found
    fallback = shutil.which("dbt", path=path)
    if fallback is None:
        raise TaskFailed(_missing_dbt(cli=False, dbt_path=wanted))
    if "dbtPath" in task.model_fields_set:
        ctx.warning(f"dbtPath '{wanted}' does not exist here: using {fallback} found on PATH")
    return fallback


def _missing_dbt(cli: bool, dbt_path: str | None = None) -> str:
    found = (
        f"dbt was found neither at dbtPath '{dbt_path}' nor on PATH"
        if dbt_path
        else "dbt was not found on PATH"
    )
    also = (
        "or install it in beforeCommands (pip install dbt-core dbt-duckdb)"
        if cli
        else "set dbtPath to the dbt executable, or create it with an earlier "
        "io.kestra.plugin.dbt.cli.Setup task in the same WorkingDirectory"
    )
    return f"{found}: {_INSTALL_HINT}, {also}"
