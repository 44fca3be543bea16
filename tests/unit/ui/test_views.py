"""What the UI's pages compute: the Gantt's rows, a flow's topology, highlighted source and the
diff of two revisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controlplane.engine.model import Attempt, Execution, State, TaskRun, Transition
from controlplane.engine.ports import FlowRecord
from controlplane.ui.flowparts import diff, fields, resume_fields
from controlplane.ui.gantt import gantt
from controlplane.ui.highlight import highlight
from controlplane.ui.topology import callees, load, topology, walk

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def run(
    run_id: str, task_id: str, start: int, end: int | None, parent: str | None = None
) -> TaskRun:
    history = [Transition(State.RUNNING, T0 + timedelta(seconds=start))]
    state = State.RUNNING
    if end is not None:
        history.append(Transition(State.SUCCESS, T0 + timedelta(seconds=end)))
        state = State.SUCCESS
    attempts = [Attempt(state, T0 + timedelta(seconds=start), history[-1].at if end else None)]
    return TaskRun(
        run_id, task_id, parent_id=parent, state=state, history=history, attempts=attempts
    )


def test_gantt_rows_follow_the_tree_and_place_bars_in_the_span() -> None:
    runs = [
        run("1", "par", 0, 10),
        run("2", "after", 10, 20),
        run("3", "child", 2, 6, parent="1"),
    ]
    execution = Execution(
        "e", "ns", "f", 1, State.SUCCESS,
        [Transition(State.RUNNING, T0), Transition(State.SUCCESS, T0 + timedelta(seconds=20))],
        task_runs=runs,
    )  # fmt: skip
    drawn = gantt(execution)
    assert [(row.run.task_id, row.depth) for row in drawn.rows] == [
        ("par", 0), ("child", 1), ("after", 0),
    ]  # fmt: skip
    child = drawn.rows[1]
    assert (child.left, child.width, child.seconds) == (10.0, 20.0, 4.0)
    assert drawn.rows[2].left == 50.0


def test_a_running_execution_is_drawn_up_to_now() -> None:
    execution = Execution(
        "e", "ns", "f", 1, State.RUNNING, [Transition(State.RUNNING, T0)],
        task_runs=[run("1", "slow", 0, None)],
    )  # fmt: skip
    drawn = gantt(execution, at=T0 + timedelta(seconds=8))
    assert drawn.seconds == 8.0
    assert (drawn.rows[0].width, drawn.rows[0].attempts[0].width) == (100.0, 100.0)


FLOW = """id: shop
namespace: acme
tasks:
  - id: branches
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - id: call
        type: io.kestra.plugin.core.flow.Subflow
        namespace: acme.lib
        flowId: ship
    else:
      - id: skip
        type: io.kestra.plugin.core.log.Log
        message: no
  - id: graph
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: a
          type: io.kestra.plugin.core.log.Log
          message: a
      - task:
          id: b
          type: io.kestra.plugin.core.log.Log
          message: b
        dependsOn: [a]
  - id: pick
    type: io.kestra.plugin.core.flow.Switch
    value: x
    cases:
      x:
        - id: on_x
          type: io.kestra.plugin.core.log.Log
          message: x
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: failed
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: done
"""


def test_topology_reads_nesting_dag_edges_branches_and_subflows() -> None:
    branches = topology(load(FLOW))
    assert [b.label for b in branches] == ["tasks", "errors", "finally"]
    first = branches[0].nodes[0]
    assert [b.label for b in first.branches] == ["then", "else"]
    assert first.branches[0].nodes[0].subflow == ("acme.lib", "ship")
    dag = branches[0].nodes[1].branches[0]
    assert (dag.label, [(n.id, n.depends_on) for n in dag.nodes]) == (
        "dag",
        [("a", []), ("b", ["a"])],
    )
    assert branches[0].nodes[2].branches[0].label == "case x"
    assert [n.id for n in walk(branches)] == [
        "branches", "call", "skip", "graph", "a", "b", "pick", "on_x", "alert", "cleanup",
    ]  # fmt: skip
    assert callees(branches) == [("acme.lib", "ship")]


def test_unreadable_yaml_has_an_empty_topology() -> None:
    assert topology(load("id: [unclosed")) == []


def test_highlighted_source_escapes_what_it_wraps() -> None:
    lines = highlight('message: "<b>{{ inputs.x }}</b>" # a <note>\ncount: 3')
    assert lines[0] == (
        '<span class="y-key">message</span>: '
        '<span class="y-string">&#34;&lt;b&gt;{{ inputs.x }}&lt;/b&gt;&#34;</span> '
        '<span class="y-comment"># a &lt;note&gt;</span>'
    )
    assert lines[1] == '<span class="y-key">count</span>: <span class="y-number">3</span>'


def record(revision: int, source: str) -> FlowRecord:
    return FlowRecord(
        namespace="acme", flow_id="shop", revision=revision, source=source,
        managed_by=None, labels={}, updated=T0, deleted=False,
    )  # fmt: skip


def test_the_diff_numbers_both_sides() -> None:
    old = record(1, "a\nb\nc\n")
    new = record(2, "a\nB\nc\nd\n")
    assert [(d.kind, d.old, d.new, d.text) for d in diff(old, new)] == [
        ("hunk", None, None, "@@ -1 +1 @@"),
        ("ctx", 1, 1, "a"),
        ("del", 2, None, "b"),
        ("add", None, 2, "B"),
        ("ctx", 3, 3, "c"),
        ("add", None, 4, "d"),
    ]


def test_the_start_form_takes_its_fields_from_the_typed_inputs() -> None:
    found = fields(
        load(
            """inputs:
  - id: when
    type: DATETIME
  - id: env
    type: SELECT
    values: [dev, prod]
    defaults: prod
  - id: password
    type: SECRET
    defaults: not-shown
  - id: upload
    type: FILE
    required: false
"""
        )
    )
    assert [(f.id, f.control, f.required, f.default) for f in found] == [
        ("when", "datetime-local", True, ""),
        ("env", "select", False, "prod"),
        ("password", "password", False, ""),
        ("upload", "file", False, ""),
    ]
    assert found[1].values == ["dev", "prod"]


def test_the_resume_form_takes_the_paused_tasks_on_resume_inputs() -> None:
    data = load(
        """tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: approve
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - id: approved
            type: BOOLEAN
          - id: note
            type: STRING
            required: false
  - id: later
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: other
        type: STRING
"""
    )
    found = resume_fields(data, {"approve"})
    assert [(f.id, f.control, f.required) for f in found] == [
        ("approved", "checkbox", True),
        ("note", "text", False),
    ]
    assert resume_fields(data, set()) == []
