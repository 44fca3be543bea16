"""Core tasks that act on executions, run in a real engine: SetVariables / UnsetVariables,
Count, Resume and Kill."""

from __future__ import annotations

from controlplane.engine.model import State
from tests.conftest import Running
from tests.integration.compat.conftest import Flows
from tests.waiting import ended, wait_until

_EXECUTION = "io.kestra.plugin.core.execution"


def _why(execution: object) -> list[str]:
    """The errors of the execution's task runs, to show with a failed assertion."""
    return [
        f"{run.task_id}: {attempt.error}"
        for run in execution.task_runs  # type: ignore[attr-defined]
        for attempt in run.attempts
        if attempt.error
    ]


def _outputs(execution: object, task_id: str) -> dict[str, object]:
    runs = [run for run in execution.task_runs if run.task_id == task_id]  # type: ignore[attr-defined]
    assert len(runs) == 1, task_id
    return dict(runs[0].outputs)


def test_set_variables_merges_over_the_flow_variables_and_unset_removes_them(
    flows: Flows,
) -> None:
    execution = flows.run(f"""
id: variables
namespace: company.team
variables:
  name: World
  nested: {{a: 1, b: 2}}
tasks:
  - id: set_vars
    type: {_EXECUTION}.SetVariables
    variables:
      message: Hello
      name: "Lo{{{{ 'ï' }}}}c"
      nested: {{b: 3}}
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ vars.message }}}} {{{{ vars.name }}}} {{{{ vars.nested.a }}}}{{{{ vars.nested.b }}}}"
  - id: unset
    type: {_EXECUTION}.UnsetVariables
    variables: [message, name]
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ vars.message ?? 'gone' }}}} {{{{ vars.name }}}}"
""")
    assert execution.state is State.SUCCESS, _why(execution)
    assert _outputs(execution, "hello")["value"] == "Hello Loïc 13"
    # The flow's own 'name' shows again once the execution's is removed.
    assert _outputs(execution, "after")["value"] == "gone World"
    assert execution.variables == {"nested": {"b": 3}}


def test_set_variables_without_overwrite_refuses_an_existing_name(flows: Flows) -> None:
    execution = flows.run(f"""
id: no_overwrite
namespace: company.team
variables:
  name: World
tasks:
  - id: set_vars
    type: {_EXECUTION}.SetVariables
    overwrite: false
    variables:
      name: Other
""")
    assert execution.state is State.FAILED
    assert "'name' already set" in (execution.task_runs[0].attempts[-1].error or "")
    assert execution.variables == {}


def test_unset_variables_of_a_missing_name_fails_unless_ignored(flows: Flows) -> None:
    source = """
id: unset_missing
namespace: company.team
tasks:
  - id: unset
    type: {type}
    variables: [nowhere.deep]
    ignoreMissing: {ignore}
"""
    failed = flows.run(source.format(type=f"{_EXECUTION}.UnsetVariables", ignore="false"))
    assert failed.state is State.FAILED
    assert "'nowhere.deep'" in (failed.task_runs[0].attempts[-1].error or "")
    passed = flows.run(source.format(type=f"{_EXECUTION}.UnsetVariables", ignore="true"))
    assert passed.state is State.SUCCESS


def test_count_keeps_the_flows_whose_count_the_expression_accepts(flows: Flows) -> None:
    counted = """
id: {id}
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hi
"""
    for _ in range(2):
        assert flows.run(counted.format(id="busy")).state is State.SUCCESS
    flows.save(counted.format(id="idle"))
    count = f"""
id: counts
namespace: company.team
tasks:
  - id: none
    type: {_EXECUTION}.Count
    expression: "{{{{ count == 0 }}}}"
    flows:
      - {{namespace: company.team, flowId: busy}}
      - {{namespace: company.team, flowId: idle}}
    startDate: "{{{{ now() | dateAdd(-1, 'DAYS') }}}}"
  - id: some
    type: {_EXECUTION}.Count
    expression: "{{{{ count >= 2 }}}}"
    namespaces: [company.team]
    states: [SUCCESS]
    startDate: "{{{{ now() | dateAdd(-1, 'DAYS') }}}}"
"""
    execution = flows.run(count)
    assert execution.state is State.SUCCESS, _why(execution)
    assert _outputs(execution, "none") == {
        "results": [{"namespace": "company.team", "flowId": "idle", "count": 0}],
        "total": 0,
    }
    assert _outputs(execution, "some") == {
        "results": [{"namespace": "company.team", "flowId": "busy", "count": 2}],
        "total": 2,
    }


def test_count_of_a_namespace_out_of_reach_is_refused(flows: Flows) -> None:
    execution = flows.run(f"""
id: nosy
namespace: team.a
tasks:
  - id: count
    type: {_EXECUTION}.Count
    expression: "{{{{ count > 0 }}}}"
    namespaces: [team.b]
    startDate: "2020-01-01T00:00:00Z"
""")
    assert execution.state is State.FAILED
    assert "team.b" in (execution.task_runs[0].attempts[-1].error or "")


def test_resume_resumes_another_paused_execution_with_inputs(
    running_engine: Running, flows: Flows
) -> None:
    flows.save("""
id: waits
namespace: company.team
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.pause.onResume.reason }}"
""")
    engine = running_engine.engine
    paused = engine.create_execution("company.team", "waits", {})
    wait_until(lambda: engine.read(paused.id).state, lambda state: state is State.PAUSED)
    resumer = flows.run(
        f"""
id: resumer
namespace: company.team
inputs:
  - id: target
    type: STRING
tasks:
  - id: resume
    type: {_EXECUTION}.Resume
    namespace: company.team
    flowId: waits
    executionId: "{{{{ inputs.target }}}}"
    inputs:
      reason: approved
  - id: seen
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ vars.resumedExecution.flowId }}}}"
""",
        {"target": paused.id},
    )
    assert resumer.state is State.SUCCESS, _why(resumer)
    assert _outputs(resumer, "seen")["value"] == "waits"
    resumed = ended(engine, paused.id)
    assert resumed.state is State.SUCCESS
    assert _outputs(resumed, "after")["value"] == "approved"


def test_resume_of_an_execution_that_is_not_paused_fails(flows: Flows) -> None:
    execution = flows.run(f"""
id: resume_self
namespace: company.team
tasks:
  - id: resume
    type: {_EXECUTION}.Resume
""")
    assert execution.state is State.FAILED
    assert "is RUNNING, not PAUSED" in (execution.task_runs[0].attempts[-1].error or "")


def test_kill_stops_the_execution_before_the_next_task(flows: Flows) -> None:
    execution = flows.run(f"""
id: killer
namespace: company.team
tasks:
  - id: kill
    type: {_EXECUTION}.Kill
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: ran
""")
    assert execution.state is State.KILLED
    assert [run.task_id for run in execution.task_runs] == ["kill"]


def test_metric_publish_records_counters_and_timers_and_purge_metrics_removes_them(
    running_engine: Running, flows: Flows
) -> None:
    execution = flows.run("""
id: metrics
namespace: company.team
tasks:
  - id: publish
    type: io.kestra.plugin.core.metric.Publish
    metrics:
      - {type: counter, name: rows, value: "{{ 40 + 2 }}", tags: {table: orders}}
      - {type: timer, name: load, value: PT1.5S}
""")
    assert execution.state is State.SUCCESS, _why(execution)
    assert _outputs(execution, "publish")["metrics"] == [
        {"type": "counter", "name": "rows", "value": 42.0, "tags": {"table": "orders"}},
        {"type": "timer", "name": "load", "value": 1.5, "tags": {}},
    ]
    with running_engine.store.unit() as repos:
        stored = repos.metrics.list_metrics(execution.id)
    assert sorted((m.name, m.type, m.value, m.tags) for m in stored) == [
        ("load", "timer", 1.5, {}),
        ("rows", "counter", 42.0, {"table": "orders"}),
    ]
    purge = flows.run("""
id: purge_metrics
namespace: company.team
tasks:
  - id: purge
    type: io.kestra.plugin.core.metric.PurgeMetrics
    namespace: company.team
    flowId: metrics
    endDate: "{{ now() | dateAdd(1, 'DAYS') }}"
""")
    assert purge.state is State.SUCCESS, _why(purge)
    assert _outputs(purge, "purge") == {"count": 2}
    with running_engine.store.unit() as repos:
        assert repos.metrics.list_metrics(execution.id) == []


def test_kv_put_merges_maps_patches_dotted_fields_and_replaces_the_rest(
    running_engine: Running, flows: Flows
) -> None:
    execution = flows.run("""
id: kv_put
namespace: company.team
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: config
    value: {a: 1, nested: {x: 1, y: 2}}
  - id: merge
    type: io.kestra.plugin.core.kv.Put
    key: config
    value: {nested: {y: 3}, b: true}
  - id: patch
    type: io.kestra.plugin.core.kv.Put
    key: config
    value:
      - {key: nested.z, value: 9}
  - id: text
    type: io.kestra.plugin.core.kv.Put
    key: label
    value: new-value
  - id: replace
    type: io.kestra.plugin.core.kv.Put
    key: label
    value:
      - {value: [1, 2]}
  - id: missing
    type: io.kestra.plugin.core.kv.Put
    key: absent
    value: x
    errorOnMissing: true
""")
    assert execution.state is State.FAILED
    assert "No value found for key 'absent'" in " ".join(_why(execution))
    with running_engine.store.unit() as repos:
        config = repos.kv.read_kv("company.team", "config")
        label = repos.kv.read_kv("company.team", "label")
    assert config is not None and label is not None
    assert config.value == {"a": 1, "b": True, "nested": {"x": 1, "y": 3, "z": 9}}
    assert label.value == [1, 2]


def test_purge_flows_keeps_the_newest_revisions_of_the_matching_flows(
    running_engine: Running, flows: Flows
) -> None:
    for flow_id in ("old_one", "kept_one"):
        for n in range(4):
            flows.save(f"id: {flow_id}\nnamespace: company.team.sub\ntasks:\n  - id: r{n}\n"
                       "    type: io.kestra.plugin.core.debug.Return\n    format: x\n")  # fmt: skip
    execution = flows.run("""
id: purge_flows
namespace: company.team
tasks:
  - id: purge
    type: io.kestra.plugin.core.flow.PurgeFlows
    namespaces: [company.team]
    flowPattern: "old_*"
    behavior: {type: version, keepAmount: 2}
""")
    assert execution.state is State.SUCCESS, _why(execution)
    assert _outputs(execution, "purge") == {"size": 2}
    with running_engine.store.unit() as repos:
        old = repos.flows.list_flow_revisions("company.team.sub", "old_one")
        kept = repos.flows.list_flow_revisions("company.team.sub", "kept_one")
    assert [r.revision for r in old] == [3, 4]
    assert [r.revision for r in kept] == [1, 2, 3, 4]


def test_purge_flows_of_a_namespace_out_of_reach_is_refused(flows: Flows) -> None:
    execution = flows.run("""
id: purge_other
namespace: team.a
tasks:
  - id: purge
    type: io.kestra.plugin.core.flow.PurgeFlows
    namespaces: [team.b]
""")
    assert execution.state is State.FAILED
    assert "team.b" in " ".join(_why(execution))
