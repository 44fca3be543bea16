"""flow.ForEachItem on Kestra's own test flows (read in place) with the file its tests give:
102 lines cut in batches of 4 (26 subflow executions, each reading its batch file), the
subflows' outputs merged into one file, and a failing subflow failing the parent."""

from __future__ import annotations

from pathlib import Path

from controlplane.engine.model import Execution, State
from tests.integration.compat.conftest import Flows

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "kestra-flows"
VALIDS = "kestra-io__kestra__core__src__test__resources__flows__valids__"
ITEMS = "".join(f"{n:>20}\n" for n in range(102)).encode()


def _save(flows: Flows, *names: str) -> str:
    sources = [(CORPUS / f"{VALIDS}{name}.yaml").read_text() for name in names]
    for source in sources[1:]:
        flows.save(source)
    return sources[0]


def _children(flows: Flows, parent: Execution, flow_id: str) -> list[Execution]:
    with flows.store.unit() as repos:
        found = repos.executions.list_executions("io.kestra.tests", flow_id, limit=200)
    return [e for e in found if e.parent is not None and e.parent.execution_id == parent.id]


def _run(execution: Execution, task_id: str) -> dict[str, object]:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    return run.outputs


def test_items_are_cut_in_batches_and_each_batch_runs_a_subflow(flows: Flows) -> None:
    source = _save(flows, "for-each-item", "for-each-item-subflow")
    final = flows.run(source, {"file": ITEMS, "batch": 4})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _run(final, "each_split")["numberOfBatches"] == 26
    children = _children(flows, final, "for-each-item-subflow")
    assert len(children) == 26
    assert {c.state for c in children} == {State.SUCCESS}
    batch = children[0].inputs["items"]
    assert batch.startswith(f"kestra:///io/kestra/tests/for-each-item/executions/{final.id}/")
    assert _run(final, "each_merge")["iterations"] == {"SUCCESS": 26}


def test_the_outputs_of_the_subflows_are_merged_into_one_file(flows: Flows) -> None:
    source = _save(flows, "for-each-item-outputs", "for-each-item-outputs-subflow")
    final = flows.run(source, {"file": ITEMS})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    uri = str(_run(final, "each_merge")["subflowOutputs"])
    with flows.store.files.open(uri) as stream:
        lines = stream.read().decode().splitlines()
    assert len(lines) == 26
    assert _run(final, "return")["value"] == uri


def test_a_failing_subflow_fails_the_parent(flows: Flows) -> None:
    source = _save(flows, "for-each-item-failed", "for-each-item-subflow-failed")
    final = flows.run(source, {"file": ITEMS})
    assert final.state is State.FAILED
    children = _children(flows, final, "for-each-item-subflow-failed")
    assert len(children) == 26
    assert {c.state for c in children} == {State.FAILED}


def test_without_wait_the_parent_ends_and_the_subflows_go_on(flows: Flows) -> None:
    source = _save(flows, "for-each-item-no-wait", "for-each-item-subflow")
    final = flows.run(source, {"file": ITEMS, "batch": 4})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    children = _children(flows, final, "for-each-item-subflow")
    assert len(children) == 26
    assert "each_merge" not in {r.task_id for r in final.task_runs}


def test_allow_failure_turns_failed_subflows_into_a_warning(flows: Flows) -> None:
    source = _save(
        flows, "task-allow-failure-executable-foreachitem", "for-each-item-subflow-failed"
    )
    final = flows.run(source, {"file": ITEMS})
    assert final.state is State.WARNING, flows.logs(final, "ERROR")
