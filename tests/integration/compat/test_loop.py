"""flow.Loop, Kestra's newer loop: every task of an iteration, nested ones included, sees the
iteration as ``item`` (the example of Kestra's Loop documentation, and a map of values)."""

from __future__ import annotations

from controlplane.engine.model import Execution, State
from tests.integration.compat.conftest import Flows

LOOP = """
id: for_loop_example
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["value 1", "value 2", "value 3"]
    concurrencyLimit: 0
    tasks:
      - id: before_if
        type: io.kestra.plugin.core.debug.Return
        format: "Before if {{ item.value }} at {{ item.index }}"
      - id: if
        type: io.kestra.plugin.core.flow.If
        condition: '{{ item.value == "value 2" }}'
        then:
          - id: after_if
            type: io.kestra.plugin.core.debug.Return
            format: "After if {{ item.value }}"
"""

REGIONS = """
id: regions
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values:
      north: 10
      south: 20
    tasks:
      - id: log
        type: io.kestra.plugin.core.debug.Return
        format: "{{ item.key }}={{ item.value }}"
"""


def _values(execution: Execution, task_id: str) -> list[str]:
    return sorted(str(r.outputs["value"]) for r in execution.task_runs if r.task_id == task_id)


def test_every_task_of_an_iteration_sees_the_item(flows: Flows) -> None:
    final = flows.run(LOOP)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _values(final, "before_if") == [
        "Before if value 1 at 0",
        "Before if value 2 at 1",
        "Before if value 3 at 2",
    ]
    assert _values(final, "after_if") == ["After if value 2"]


def test_a_map_of_values_gives_key_and_value(flows: Flows) -> None:
    final = flows.run(REGIONS)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _values(final, "log") == ["north=10", "south=20"]
