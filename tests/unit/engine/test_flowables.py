"""Each flowable task's decisions: which children start when, and its state from theirs.

Attempts are answered by hand (see ``stepping``), so every test sees what the executor hands
out after each answer, with no worker and no thread.
"""

from __future__ import annotations

import json
from datetime import timedelta

from controlplane.engine.model import State
from tests.unit.engine.stepping import FLOW, WORK_ROOT, Drive, child, leaf, result


# -- Sequential ----------------------------------------------------------------------------------
def test_sequential_hands_out_one_child_at_a_time_and_succeeds_with_them() -> None:
    run = Drive(
        f"tasks:\n  - id: seq\n    type: {FLOW}.Sequential\n    tasks:\n"
        f"      - {leaf('a')}\n      - {leaf('b')}\n  - {leaf('after')}\n"
    )
    run.start()
    assert run.out() == ["a"]
    assert run.state("seq") is State.RUNNING
    run.answer("a")
    assert run.out() == ["b"]
    run.answer("b")
    assert run.state("seq") is State.SUCCESS
    assert run.out() == ["after"]
    run.answer("after")
    assert run.ex.state is State.SUCCESS


def test_a_failed_child_ends_the_sequential_and_nothing_after_it_starts() -> None:
    run = Drive(
        f"tasks:\n  - id: seq\n    type: {FLOW}.Sequential\n    tasks:\n"
        f"      - {leaf('a')}\n      - {leaf('b')}\n  - {leaf('after')}\n"
    )
    run.start()
    run.answer("a", State.FAILED)
    assert run.created() == ["seq", "a"]
    assert run.states() == {"seq": State.FAILED, "a": State.FAILED}
    assert run.ex.state is State.FAILED
    assert run.pending == []


def test_a_disabled_task_is_never_created() -> None:
    run = Drive(f"tasks:\n  - {leaf('a', ', disabled: true')}\n  - {leaf('b')}\n")
    run.start()
    assert run.out() == ["b"]
    run.answer("b")
    assert run.created() == ["b"]
    assert run.ex.state is State.SUCCESS


def test_the_execution_state_is_the_worst_of_its_tasks() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n  - {leaf('b')}\n")
    run.start()
    run.answer("a", State.WARNING)
    run.answer("b")
    assert run.ex.state is State.WARNING


# -- Parallel ------------------------------------------------------------------------------------
PARALLEL = (
    f"tasks:\n  - id: par\n    type: {FLOW}.Parallel\n    concurrent: 2\n    tasks:\n"
    f"      - {leaf('a')}\n      - {leaf('b')}\n      - {leaf('c')}\n  - {leaf('after')}\n"
)


def test_parallel_starts_no_more_children_than_concurrent_allows() -> None:
    run = Drive(PARALLEL)
    run.start()
    assert run.out() == ["a", "b"]
    run.answer("b")
    assert run.out() == ["a", "c"]
    run.answer("c")
    assert run.state("par") is State.RUNNING
    run.answer("a")
    assert run.state("par") is State.SUCCESS
    assert run.out() == ["after"]


def test_parallel_without_a_limit_starts_every_child_at_once() -> None:
    run = Drive(PARALLEL.replace("    concurrent: 2\n", ""))
    run.start()
    assert run.out() == ["a", "b", "c"]


def test_after_a_failed_child_parallel_starts_no_other_and_fails_once_the_rest_end() -> None:
    run = Drive(PARALLEL)
    run.start()
    run.answer("a", State.FAILED)
    assert run.out() == ["b"]
    assert run.state("par") is State.RUNNING
    run.answer("b")
    assert run.created() == ["par", "a", "b"]
    assert run.state("par") is State.FAILED
    assert run.ex.state is State.FAILED


def test_parallel_takes_the_worst_state_of_its_children() -> None:
    run = Drive(PARALLEL.replace("    concurrent: 2\n", ""))
    run.start()
    run.answer("a")
    run.answer("b", State.WARNING)
    run.answer("c")
    assert run.state("par") is State.WARNING


# -- If and Switch -------------------------------------------------------------------------------
def if_flow(condition: str, with_else: bool = True) -> str:
    branch = f"    else:\n      - {leaf('no')}\n" if with_else else ""
    return (
        "inputs:\n  - {id: go, type: BOOLEAN, defaults: true}\n"
        f'tasks:\n  - id: choose\n    type: {FLOW}.If\n    condition: "{condition}"\n'
        f"    then:\n      - {leaf('yes')}\n{branch}"
    )


def test_if_runs_then_when_its_condition_holds() -> None:
    run = Drive(if_flow("{{ inputs.go }}"), inputs={"go": True})
    run.start()
    assert run.out() == ["yes"]
    assert run.run("choose").outputs == {"evaluationResult": True}
    run.answer("yes")
    assert run.states() == {"choose": State.SUCCESS, "yes": State.SUCCESS}


def test_if_runs_else_when_its_condition_does_not_hold() -> None:
    run = Drive(if_flow("{{ inputs.go }}"), inputs={"go": False})
    run.start()
    assert run.out() == ["no"]


def test_if_without_else_succeeds_with_no_child_when_false() -> None:
    run = Drive(if_flow("{{ inputs.go }}", with_else=False), inputs={"go": False})
    run.start()
    assert run.created() == ["choose"]
    assert run.ex.state is State.SUCCESS


def test_if_fails_when_its_condition_cannot_be_rendered() -> None:
    run = Drive(if_flow("{{ missing.thing }}"))
    run.start()
    assert run.created() == ["choose"]
    assert run.state("choose") is State.FAILED
    assert any("condition of 'choose'" in message for message in run.logs())


def switch_flow(defaults: bool = True) -> str:
    default = f"    defaults:\n      - {leaf('other')}\n" if defaults else ""
    return (
        "inputs:\n  - {id: kind, type: STRING}\n"
        f"tasks:\n  - id: pick\n    type: {FLOW}.Switch\n    value: '{{{{ inputs.kind }}}}'\n"
        f"    cases:\n      A:\n        - {leaf('a1')}\n        - {leaf('a2')}\n"
        f"      B:\n        - {leaf('b')}\n{default}"
    )


def test_switch_runs_the_case_its_value_names_in_order() -> None:
    run = Drive(switch_flow(), inputs={"kind": "A"})
    run.start()
    assert run.out() == ["a1"]
    assert run.run("pick").outputs == {"value": "A", "defaults": False}
    run.answer("a1")
    assert run.out() == ["a2"]
    run.answer("a2")
    assert run.state("pick") is State.SUCCESS


def test_switch_runs_defaults_when_no_case_matches() -> None:
    run = Drive(switch_flow(), inputs={"kind": "Z"})
    run.start()
    assert run.out() == ["other"]
    assert run.run("pick").outputs == {"value": "Z", "defaults": True}


def test_switch_fails_when_no_case_matches_and_it_has_no_defaults() -> None:
    run = Drive(switch_flow(defaults=False), inputs={"kind": "Z"})
    run.start()
    assert run.created() == ["pick"]
    assert run.state("pick") is State.FAILED
    assert run.ex.state is State.FAILED
    assert any("no case of 'pick' matches 'Z'" in message for message in run.logs())


# -- loops ---------------------------------------------------------------------------------------
def for_each(values: str, limit: int | None = None) -> str:
    concurrency = f"    concurrencyLimit: {limit}\n" if limit is not None else ""
    return (
        f"tasks:\n  - id: loop\n    type: {FLOW}.ForEach\n    values: {values}\n{concurrency}"
        f"    tasks:\n      - {leaf('one')}\n      - {leaf('two')}\n"
    )


def test_for_each_runs_one_value_at_a_time_by_default() -> None:
    run = Drive(for_each("[x, y]"))
    run.start()
    assert run.out_values() == [("one", "x")]
    run.answer("one")
    assert run.out_values() == [("two", "x")]
    run.answer("two")
    assert run.out_values() == [("one", "y")]
    run.answer("one")
    run.answer("two")
    assert run.state("loop") is State.SUCCESS
    assert [(r.task_id, r.value, r.iteration) for r in run.ex.task_runs[1:]] == [
        ("one", "x", 0),
        ("two", "x", 0),
        ("one", "y", 1),
        ("two", "y", 1),
    ]


def test_for_each_runs_up_to_its_concurrency_limit_of_values_at_once() -> None:
    run = Drive(for_each("[x, y, z]", limit=2))
    run.start()
    assert run.out_values() == [("one", "x"), ("one", "y")]
    run.answer("one", value="y")
    assert run.out_values() == [("one", "x"), ("two", "y")]
    run.answer("two", value="y")
    assert run.out_values() == [("one", "x"), ("one", "z")]


def test_for_each_with_a_limit_of_zero_starts_every_value() -> None:
    run = Drive(for_each("[x, y, z]", limit=0))
    run.start()
    assert run.out_values() == [("one", "x"), ("one", "y"), ("one", "z")]


def test_a_failed_iteration_stops_new_ones_and_fails_the_loop() -> None:
    run = Drive(for_each("[x, y, z]", limit=2))
    run.start()
    run.answer("one", State.FAILED, value="x")
    assert run.out_values() == [("one", "y")]
    assert run.state("loop") is State.RUNNING
    run.answer("one", value="y")
    run.answer("two", value="y")
    assert [r.value for r in run.runs("one")] == ["x", "y"]
    assert run.state("loop") is State.FAILED


def test_for_each_over_a_json_string_and_over_objects() -> None:
    run = Drive(for_each("'[1, {\"k\": 2}]'", limit=0))
    run.start()
    assert run.run("loop").items == ["1", json.dumps({"k": 2}, separators=(",", ":"))]


def test_for_each_over_a_map_iterates_its_entries() -> None:
    run = Drive(for_each("{a: 1}"))
    run.start()
    assert run.run("loop").items == ['{"key":"a","value":1}']


def test_for_each_fails_on_null_values_naming_them() -> None:
    run = Drive(for_each("[a, null]"))
    run.start()
    assert run.created() == ["loop"]
    assert run.state("loop") is State.FAILED
    assert "Found '1' null values on Each, with values=[a, null]" in run.logs()


def test_for_each_over_an_empty_list_succeeds_without_children() -> None:
    run = Drive(for_each("[]"))
    run.start()
    assert run.created() == ["loop"]
    assert run.ex.state is State.SUCCESS


def each(kind: str, extra: str = "") -> str:
    return (
        f"tasks:\n  - id: loop\n    type: {FLOW}.{kind}\n    value: [x, y, z]\n{extra}"
        f"    tasks:\n      - {leaf('one')}\n"
    )


def test_each_sequential_runs_the_values_in_order() -> None:
    run = Drive(each("EachSequential"))
    run.start()
    assert run.out_values() == [("one", "x")]
    run.answer("one")
    assert run.out_values() == [("one", "y")]


def test_each_parallel_runs_every_value_at_once_or_up_to_concurrent() -> None:
    run = Drive(each("EachParallel"))
    run.start()
    assert run.out_values() == [("one", "x"), ("one", "y"), ("one", "z")]
    limited = Drive(each("EachParallel", "    concurrent: 2\n"))
    limited.start()
    assert limited.out_values() == [("one", "x"), ("one", "y")]
    limited.answer("one", value="x")
    assert limited.out_values() == [("one", "y"), ("one", "z")]


def test_loop_until_repeats_its_tasks_until_max_iterations_then_succeeds() -> None:
    run = Drive(
        f"tasks:\n  - id: until\n    type: {FLOW}.LoopUntil\n    condition: '{{{{ false }}}}'\n"
        "    checkFrequency: {interval: PT1H, maxIterations: 2}\n"
        f"    tasks:\n      - {leaf('poll')}\n"
    )
    effects = run.start()
    assert run.out_values() == [("poll", "0")]
    effects = run.answer("poll")
    assert run.pending == []
    assert run.run("until").wake_at == effects.wake_at
    run.step()
    assert run.pending == []  # the interval has not passed
    run.age(timedelta(hours=2))
    run.step()
    assert run.out_values() == [("poll", "1")]
    run.answer("poll")
    assert run.state("until") is State.SUCCESS
    assert run.ex.state is State.SUCCESS


def test_loop_until_fails_at_its_limit_when_told_to() -> None:
    run = Drive(
        f"tasks:\n  - id: until\n    type: {FLOW}.LoopUntil\n    condition: '{{{{ false }}}}'\n"
        "    failOnMaxReached: true\n    checkFrequency: {interval: PT1S, maxIterations: 1}\n"
        f"    tasks:\n      - {leaf('poll')}\n"
    )
    run.start()
    run.answer("poll")
    assert run.state("until") is State.FAILED
    assert "maximum reached" in run.logs()


def test_loop_until_ends_as_soon_as_its_condition_holds() -> None:
    run = Drive(
        f"tasks:\n  - id: until\n    type: {FLOW}.LoopUntil\n"
        "    condition: \"{{ outputs.poll.value == 'done' }}\"\n"
        "    checkFrequency: {interval: PT1H, maxIterations: 5}\n"
        f"    tasks:\n      - {leaf('poll')}\n"
    )
    run.start()
    run.answer("poll", outputs={"value": "done"})
    assert run.state("until") is State.SUCCESS
    assert len(run.runs("poll")) == 1


# -- Dag -----------------------------------------------------------------------------------------
def dag(concurrent: int = 0) -> str:
    return (
        f"tasks:\n  - id: graph\n    type: {FLOW}.Dag\n    concurrent: {concurrent}\n"
        f"    tasks:\n"
        f"      - task: {leaf('a')}\n"
        f"      - task: {leaf('b')}\n        dependsOn: [a]\n"
        f"      - task: {leaf('c')}\n        dependsOn: [a]\n"
        f"      - task: {leaf('d')}\n        dependsOn: [b, c]\n"
        f"      - task: {leaf('e')}\n"
    )


def test_dag_starts_a_task_once_all_its_dependencies_ended() -> None:
    run = Drive(dag())
    run.start()
    assert run.out() == ["a", "e"]
    run.answer("a")
    assert run.out() == ["e", "b", "c"]
    run.answer("b")
    assert run.out() == ["e", "c"]
    run.answer("c")
    assert run.out() == ["e", "d"]
    run.answer("d")
    run.answer("e")
    assert run.state("graph") is State.SUCCESS


def test_dag_never_starts_the_dependents_of_a_failed_task() -> None:
    run = Drive(dag())
    run.start()
    run.answer("a", State.FAILED)
    assert run.out() == ["e"]
    run.answer("e")
    assert run.created() == ["graph", "a", "e"]
    assert run.state("graph") is State.FAILED


def test_dag_runs_no_more_than_concurrent_tasks_at_once() -> None:
    run = Drive(dag(concurrent=1))
    run.start()
    assert run.out() == ["a"]
    run.answer("a")
    assert run.out() == ["b"]


# -- AllowFailure and WorkingDirectory -----------------------------------------------------------
def test_allow_failure_turns_its_childs_failure_into_a_warning_and_goes_on() -> None:
    run = Drive(
        f"tasks:\n  - id: tolerant\n    type: {FLOW}.AllowFailure\n    tasks:\n"
        f"      - {leaf('a')}\n      - {leaf('b')}\n  - {leaf('after')}\n"
    )
    run.start()
    run.answer("a", State.FAILED)
    assert run.created() == ["tolerant", "a", "after"]
    assert run.state("tolerant") is State.WARNING
    run.answer("after")
    assert run.ex.state is State.WARNING


def test_working_directory_children_share_one_directory_named_after_its_run() -> None:
    run = Drive(
        f"tasks:\n  - id: wd\n    type: {FLOW}.WorkingDirectory\n    tasks:\n"
        f"      - {leaf('a')}\n      - {leaf('b')}\n  - {leaf('outside')}\n"
    )
    run.start()
    directory = WORK_ROOT / "e1" / run.run("wd").id
    first = run.take("a")
    assert first.working_dir == directory
    assert first.variables["workerTaskrun"]["id"] == run.run("wd").id
    run.step(lambda s: s.apply_result(result(first)))
    assert run.pending[0].working_dir == directory
    run.answer("b")
    assert run.pending[0].task.id == "outside"
    assert run.pending[0].working_dir is None


def test_loop_runs_its_tasks_per_value_up_to_its_concurrency_limit() -> None:
    text = (
        f"tasks:\n  - id: loop\n    type: {FLOW}.Loop\n    values: [x, y, z]\nLIMIT"
        f"    tasks:\n      - {leaf('one')}\n"
    )
    one_by_one = Drive(text.replace("LIMIT", ""))
    one_by_one.start()
    assert one_by_one.out_values() == [("one", "x")]
    one_by_one.answer("one")
    assert one_by_one.out_values() == [("one", "y")]
    all_at_once = Drive(text.replace("LIMIT", "    concurrencyLimit: 0\n"))
    all_at_once.start()
    assert all_at_once.out_values() == [("one", "x"), ("one", "y"), ("one", "z")]


def test_for_each_item_splits_then_calls_the_subflow_per_batch_then_merges() -> None:
    run = Drive(
        f"tasks:\n  - id: each\n    type: {FLOW}.ForEachItem\n    items: kestra:///data.csv\n"
        "    batch: {rows: 2}\n    namespace: company.team\n    flowId: child\n"
        "    inputs: {file: '{{ taskrun.items }}'}\n"
        f"  - {leaf('after')}\n"
    )
    run.start()
    assert run.out() == ["each_split"]
    effects = run.answer("each_split", outputs={"splits": ["kestra:///b1", "kestra:///b2"]})
    assert [(s.flow_id, s.inputs) for s in effects.subflows] == [
        ("child", {"file": "kestra:///b1"}),
        ("child", {"file": "kestra:///b2"}),
    ]
    assert run.pending == []
    for start, child_id in zip(effects.subflows, ("c1", "c2"), strict=True):
        ended = child(State.SUCCESS)
        ended.id = child_id
        run.step(
            lambda s, start=start, ended=ended: s.apply_subflow_ended(start.parent_run_id, ended)
        )
    assert run.out() == ["each_merge"]
    run.answer("each_merge")
    assert run.state("each") is State.SUCCESS
    assert run.out() == ["after"]
