"""A ``kestra://`` URI inside a script's commands or script is downloaded into the working
directory and replaced by the local path, as Kestra does (blueprint ``parallel-files``)."""

from __future__ import annotations

from controlplane.engine.model import State
from tests.integration.compat.conftest import Flows

# The shape of kestra-io/blueprints flows/parallel-files.yaml.
PARALLEL_FILES = """
id: parallel-files
namespace: company.team
tasks:
  - id: bash
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    outputFiles:
      - out/**
    commands:
      - mkdir -p out
      - echo "Hello from 1" >> out/output1.txt
      - echo "Hello from 2" >> out/output2.txt
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 0
    values: "{{ outputs.bash.outputFiles | jq('.[]') }}"
    tasks:
      - id: contents
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - cat "{{ taskrun.value }}"
"""

PYTHON_READS_A_FILE = """
id: python-reads
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "a,b\\n1,2\\n"
    extension: .csv
  - id: read
    type: io.kestra.plugin.scripts.python.Script
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    script: |
      with open("{{ outputs.write.uri }}") as f:
          print("rows:", len(f.read().splitlines()))
"""


def test_each_file_is_read_through_its_local_copy(flows: Flows) -> None:
    final = flows.run(PARALLEL_FILES)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    logs = flows.logs(final)
    assert "Hello from 1" in logs
    assert "Hello from 2" in logs
    assert not [line for line in logs if "No such file" in line]


def test_a_python_script_opens_a_storage_uri_as_a_local_file(flows: Flows) -> None:
    final = flows.run(PYTHON_READS_A_FILE)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert "rows: 2" in flows.logs(final)
