"""Kestra's state tasks on its own test flow ``state.yaml`` (read in place): created, updated and
deleted across three executions, and kept per loop value unless ``taskrunValue: false``."""

from __future__ import annotations

from pathlib import Path

from controlplane.engine.model import Execution, State
from tests.integration.compat.conftest import Flows

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "kestra-flows"
FLOW = CORPUS / "kestra-io__kestra__core__src__test__resources__flows__valids__state.yaml"


def _outputs(execution: Execution, task_id: str, value: str | None = None) -> dict[str, object]:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id and r.value == value]
    return run.outputs


def test_a_state_is_created_updated_then_deleted_across_executions(flows: Flows) -> None:
    source = FLOW.read_text()
    first, second, third = (flows.run(source, {"state": "counter"}) for _ in range(3))
    assert [e.state for e in (first, second, third)] == [State.SUCCESS] * 3
    assert [len(e.task_runs) for e in (first, second, third)] == [5, 5, 5]
    assert _outputs(first, "createGet")["data"] == {"value": 1}
    assert _outputs(second, "updateGet")["data"] == {"value": "2"}
    assert _outputs(third, "deleteGet")["count"] == 0


def test_a_state_is_kept_per_loop_value_unless_told_otherwise(flows: Flows) -> None:
    final = flows.run(FLOW.read_text(), {"state": "each"})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert len(final.task_runs) == 17
    assert _outputs(final, "regetEach1", "b")["data"] == {"value": "null-b"}
    assert _outputs(final, "regetEach2", "b")["data"] == {"value": "null-a-b"}
