"""``ansible.cli.AnsibleCLI``: ansible-playbook commands in a working directory prepared for them.

Before the commands, the working directory gets an ``ansible.cfg`` (the task's ``ansibleConfig``
rendered with ``workingDir``, unless ``inputFiles`` brings one), the ``kestra_logger`` callback
plugin (``callback_plugins/``) and the ``kestra`` module (``library/``). The callback, enabled by
the default configuration, appends each playbook's results to a JSON-lines file named by
``KESTRA_ANSIBLE_RESULTS`` (or, without it, prints them in the ``::{"outputs": ...}::`` form
scripts use); after the commands Weir reads the file back into the task's outputs, merged over
every command. A ``requirements.txt`` or ``requirements.yml`` in the working directory is
installed first unless ``autoInstall*Requirements`` say not to.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.ansible import AnsibleCLI
from controlplane.tasks import props
from controlplane.tasks.docker_runner import ContainerScriptRun
from controlplane.tasks.scripts import prepare

RESULTS_ENV = "KESTRA_ANSIBLE_RESULTS"
_RESULTS = ".weir-ansible-results.jsonl"

# The callback plugin, written into callback_plugins/kestra_logger.py. It records every host's
# result of every task (status ok, changed, failed, skipped, unreachable), grouped by play and
# task with start and end times, and the values the kestra module declares.
CALLBACK = '''
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: kestra_logger
    type: aggregate
    short_description: collects each host's results for Kestra-compatible outputs
"""


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kestra_logger"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.explicit = os.environ.get("KESTRA_OUTPUTS_MODE", "all").lower() == "explicit"
        self.results = []
        self.declared = {}
        self.plays = []
        self.task = None

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"name": play.get_name(), "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        if not self.plays:
            self.plays.append({"name": "", "tasks": []})
        play = self.plays[-1]
        name = task.get_name() or task.action
        self.task = {
            "uid": "play:%s|task:%s" % (play["name"], name),
            "name": name,
            "startedAt": _now(),
            "endedAt": None,
            "hosts": [],
        }
        play["tasks"].append(self.task)

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, status):
        data = dict(result._result)
        if result._task.action in ("kestra", "ansible.legacy.kestra"):
            if isinstance(data.get("outputs"), dict):
                self.declared.update(data["outputs"])
        shown = {"changed": bool(data.get("changed"))} if self.explicit else data
        if not self.explicit:
            self.results.append(data)
        if self.task is not None:
            self.task["hosts"].append(
                {"host": result._host.get_name(), "status": status, "result": shown}
            )
            self.task["endedAt"] = _now()
        line = "[%s] %s => %s" % (result._host.get_name(), status, json.dumps(shown, default=str))
        self._display.display(line, stderr=status in ("failed", "unreachable"))

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        outputs = self.declared if self.explicit else self.results
        payload = {"outputs": outputs, "playbooks": [{"plays": self.plays}]}
        target = os.environ.get("KESTRA_ANSIBLE_RESULTS")
        if target:
            with open(target, "a", encoding="utf-8") as out:
                out.write(json.dumps(payload, default=str) + "\\n")
        else:
            print("::" + json.dumps({"outputs": payload}, default=str) + "::")
'''

# A stdout callback that prints nothing (callback_plugins/null.py): the default configuration
# names it, so what Ansible shows is the kestra_logger's one line per host result.
NULL_CALLBACK = """
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = \"\"\"
    name: null
    type: stdout
    short_description: prints nothing
\"\"\"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "null"
"""

# The kestra module, written into library/kestra.py: ``kestra: {outputs: {...}}`` declares
# outputs (kept by the callback in EXPLICIT mode) and changes nothing on the host.
MODULE = """
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={"outputs": {"type": "dict", "required": True}},
        supports_check_mode=True,
    )
    module.exit_json(changed=False, outputs=module.params["outputs"])


if __name__ == "__main__":
    main()
"""


def _prepare_directory(task: AnsibleCLI, ctx: RunContext, workdir: Path) -> None:
    config = workdir / "ansible.cfg"
    if config.exists():
        ctx.warning("inputFiles bring an ansible.cfg: it is used instead of 'ansibleConfig'")
    else:
        config.write_text(props.text(ctx, task.ansibleConfig), encoding="utf-8")
    files = (
        ("callback_plugins/kestra_logger.py", CALLBACK),
        ("callback_plugins/null.py", NULL_CALLBACK),
        ("library/kestra.py", MODULE),
    )
    for relative, text in files:
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.lstrip(), encoding="utf-8")


def _merged(path: Path, explicit: bool) -> dict[str, Any]:
    outputs: Any = {} if explicit else []
    playbooks: list[Any] = []
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if explicit and isinstance(record.get("outputs"), dict):
            outputs.update(record["outputs"])
        elif not explicit and isinstance(record.get("outputs"), list):
            outputs.extend(record["outputs"])
        playbooks += record.get("playbooks") or []
    return {"outputs": outputs, "playbooks": playbooks}


@runs(AnsibleCLI)
def run_ansible_cli(task: AnsibleCLI, ctx: RunContext) -> dict[str, Any]:
    if props.boolean(ctx, task.outputLogFile):
        task = task.model_copy(update={"outputFiles": [*(task.outputFiles or []), "log"]})
    script = prepare(task, ctx)
    workdir = ctx.working_dir
    _prepare_directory(task, ctx, workdir)
    if not isinstance(script, ContainerScriptRun) and (
        shutil.which("ansible-playbook", path=script.env.get("PATH")) is None
    ):
        raise TaskFailed(
            "ansible-playbook is not on this worker's PATH: install Ansible (pip install "
            "ansible-core) or run the task on the Docker task runner, whose image brings it"
        )
    results = workdir / _RESULTS
    explicit = task.outputsMode == "EXPLICIT"
    script.env[RESULTS_ENV] = str(results)
    script.env["KESTRA_OUTPUTS_MODE"] = task.outputsMode.lower()
    script.env["ANSIBLE_CONFIG"] = str(workdir / "ansible.cfg")
    # Task processes have no home directory to write: Ansible's own files go to the working
    # directory unless the task's env says otherwise.
    home = workdir / ".ansible"
    for name, value in (("ANSIBLE_HOME", home), ("ANSIBLE_LOCAL_TEMP", home / "tmp"),
                        ("ANSIBLE_REMOTE_TEMP", home / "tmp")):  # fmt: skip
        script.env.setdefault(name, str(value))
    installs = []
    if props.boolean(ctx, task.autoInstallPythonRequirements):
        installs.append(
            "[ ! -f requirements.txt ] || pip install --no-cache-dir -r requirements.txt"
        )
    if props.boolean(ctx, task.autoInstallGalaxyRequirements):
        installs.append("[ ! -f requirements.yml ] || ansible-galaxy install -r requirements.yml")
    commands = [*installs, *props.string_list(ctx, task.commands, "commands")]
    try:
        outputs = script.run(task, ctx, commands)
    except TaskFailed as failed:
        merged = _merged(results, explicit)
        results.unlink(missing_ok=True)
        raise TaskFailed(str(failed), _attach(dict(failed.outputs), merged)) from None
    merged = _merged(results, explicit)
    results.unlink(missing_ok=True)
    return _attach(outputs, merged)


def _attach(outputs: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    outputs["vars"] = {**(outputs.get("vars") or {}), **merged}
    outputs["playbooks"] = merged["playbooks"]
    return outputs
