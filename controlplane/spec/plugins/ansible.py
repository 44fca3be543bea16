"""Ansible (``io.kestra.plugin.ansible.cli.AnsibleCLI``): playbooks run with ansible-playbook."""

from __future__ import annotations

from typing import Literal

from controlplane.spec.fields import DynBool, DynStrList, Text
from controlplane.spec.plugins.scripts import ScriptTask
from controlplane.spec.registry import task

DEFAULT_ANSIBLE_CONFIG = """[defaults]
log_path          = {{ workingDir }}/log
callback_plugins  = ./callback_plugins
callbacks_enabled = kestra_logger
stdout_callback   = null
result_format     = json
pretty_results    = true
library           = ./library
"""


@task("io.kestra.plugin.ansible.cli.AnsibleCLI")
class AnsibleCLI(ScriptTask):
    """Runs ``commands`` (``ansible-playbook ...``) in a working directory holding the task's
    files, an ``ansible.cfg`` (``ansibleConfig``, unless ``inputFiles`` brings one), the
    ``kestra_logger`` callback that collects every host's result, and the ``kestra`` module a
    playbook calls to declare outputs.

    Outputs ``vars.outputs`` (every per-host result, or with ``outputsMode: EXPLICIT`` the values
    declared with the ``kestra`` module) and ``playbooks`` (plays, tasks, hosts and their status,
    with start and end times). On Weir's default Process runner ansible-playbook must be on the
    worker's PATH; the Docker task runner uses the task's image.
    """

    commands: DynStrList
    containerImage: Text | None = "cytopia/ansible:latest-tools"
    ansibleConfig: Text = DEFAULT_ANSIBLE_CONFIG
    outputsMode: Literal["ALL", "EXPLICIT"] = "ALL"
    outputLogFile: DynBool = False
    autoInstallPythonRequirements: DynBool = True
    autoInstallGalaxyRequirements: DynBool = True
