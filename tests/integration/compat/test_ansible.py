"""ansible.cli.AnsibleCLI running real ansible-playbook on the local host, on the shape of
kestra-io/blueprints' ``ansible-local-message`` and ``ansible-config-drift`` flows: an inline
inventory and playbook, per-host results in the outputs, a loop over them, explicit outputs
declared with the ``kestra`` module, and a failing task."""

from __future__ import annotations

import sys

from controlplane.engine.model import State
from tests.integration.compat.conftest import Flows

PLAYBOOK_FLOW = """
id: ansible-local-message
namespace: company.team
tasks:
  - id: ansible
    type: io.kestra.plugin.ansible.cli.AnsibleCLI
    outputLogFile: true
    outputFiles: [bashrc]
    inputFiles:
      bashrc: |
        MY_APP_MODE=dev
      inventory.ini: |
        [local_servers]
        localhost1 ansible_connection=local ansible_python_interpreter=PYTHON
      playbook.yml: |
        ---
        - name: Hello World Playbook
          hosts: local_servers
          gather_facts: false
          tasks:
            - name: Print Hello World
              debug:
                msg: "Hello World!"
            - name: Ensure MY_APP_MODE is set
              lineinfile:
                path: "{{ workingDir }}/bashrc"
                regexp: '^MY_APP_MODE='
                line: 'MY_APP_MODE=production'
                create: true
    commands:
      - ansible-playbook -i inventory.ini -c local playbook.yml
  - id: loop_hosts
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ outputs.ansible.vars.outputs }}"
    tasks:
      - id: changed
        type: io.kestra.plugin.core.log.Log
        message: "changed={{ taskrun.value | jq('.changed') | first }}"
"""


def test_a_playbook_runs_and_each_host_result_is_an_output(flows: Flows) -> None:
    final = flows.run(PLAYBOOK_FLOW.replace("PYTHON", sys.executable))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (run,) = [r for r in final.task_runs if r.task_id == "ansible"]
    with flows.store.files.open(run.outputs["outputFiles"]["bashrc"]) as stream:
        assert stream.read() == b"MY_APP_MODE=production\n"
    results = run.outputs["vars"]["outputs"]
    assert [r.get("msg") for r in results] == ["Hello World!", "line replaced"]
    assert results[1]["changed"] is True
    (playbook,) = run.outputs["playbooks"]
    (play,) = playbook["plays"]
    assert play["name"] == "Hello World Playbook"
    assert [t["name"] for t in play["tasks"]] == ["Print Hello World", "Ensure MY_APP_MODE is set"]
    assert [h["status"] for t in play["tasks"] for h in t["hosts"]] == ["ok", "changed"]
    assert play["tasks"][0]["hosts"][0]["host"] == "localhost1"
    assert "log" in run.outputs["outputFiles"]
    logs = flows.logs(final)
    assert any("[localhost1] ok => {" in line and "Hello World!" in line for line in logs)
    assert "changed=false" in logs and "changed=true" in logs


def test_explicit_outputs_and_a_failed_host(flows: Flows) -> None:
    final = flows.run(
        """
id: ansible-explicit
namespace: company.team
tasks:
  - id: ansible
    type: io.kestra.plugin.ansible.cli.AnsibleCLI
    outputsMode: EXPLICIT
    inputFiles:
      inventory.ini: "localhost1 ansible_connection=local ansible_python_interpreter=PYTHON"
      playbook.yml: |
        - hosts: all
          gather_facts: false
          tasks:
            - name: Secret-looking result
              command: echo classified
            - name: Declare the release
              kestra:
                outputs:
                  release: "2026.12"
                  hosts: 1
            - name: Break
              command: /bin/false
    commands:
      - ansible-playbook -i inventory.ini playbook.yml
""".replace("PYTHON", sys.executable)
    )
    assert final.state is State.FAILED
    (run,) = [r for r in final.task_runs if r.task_id == "ansible"]
    assert run.outputs["vars"]["outputs"] == {"release": "2026.12", "hosts": 1}
    tasks = run.outputs["playbooks"][0]["plays"][0]["tasks"]
    assert [h["status"] for t in tasks for h in t["hosts"]] == ["changed", "ok", "failed"]
    assert tasks[0]["hosts"][0]["result"] == {"changed": True}
    assert not any("classified" in line for line in flows.logs(final))
    assert any("exit code 2" in line for line in flows.logs(final, "ERROR"))
