"""Broken flows: each error names the exact place (line, column, YAML path) and what was expected."""

from __future__ import annotations

import pytest

from controlplane.spec.validate import validate_set, validate_text

HEAD = "id: broken\nnamespace: company.team\n"


def errors(text: str) -> list[tuple[int, int, str, str]]:
    result = validate_text(text, "flow.yaml")
    return [
        (p.location.line, p.location.column, p.path, p.message)
        for p in result.problems
        if p.severity.value == "error"
    ]


CASES = {
    "unknown_task_type_suggests_the_registered_one": (
        HEAD + "tasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Logg\n    message: hi\n",
        [
            (
                5,
                5,
                "tasks[0].type",
                "unknown task type 'io.kestra.plugin.core.log.Logg': Weir does "
                "not implement it (Kestra core, package log); did you mean "
                "io.kestra.plugin.core.log.Log?",
            )
        ],
    ),
    "required_property_is_missing": (
        HEAD + "tasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n",
        [
            (
                4,
                5,
                "tasks[0].message",
                "property 'message' of io.kestra.plugin.core.log.Log is required",
            )
        ],
    ),
    "misspelt_property_gets_a_suggestion": (
        HEAD + "tasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    mesage: hi\n",
        [
            (
                4,
                5,
                "tasks[0].message",
                "property 'message' of io.kestra.plugin.core.log.Log is required",
            ),
            (
                6,
                5,
                "tasks[0].mesage",
                "unknown property 'mesage' of io.kestra.plugin.core.log.Log; "
                "did you mean 'message'?",
            ),
        ],
    ),
    "retry_max_attempt_is_not_a_number": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "    retry:\n      type: constant\n      interval: PT1S\n      maxAttempt: many\n",
        [(10, 7, "tasks[0].retry.maxAttempt", "expected an integer, got 'many'")],
    ),
    "retry_type_is_unknown": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "    retry:\n      type: constnt\n      interval: PT1S\n",
        [
            (
                8,
                7,
                "tasks[0].retry.type",
                "unknown type 'constnt'; expected one of constant, exponential, random",
            )
        ],
    ),
    "timeout_is_not_an_iso_duration": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "    timeout: 5 minutes\n",
        [
            (
                7,
                5,
                "tasks[0].timeout",
                "expected an ISO-8601 duration such as PT30S, PT5M, PT1H30M "
                "or P1D, got '5 minutes'",
            )
        ],
    ),
    "sleep_duration_is_not_an_iso_duration": (
        HEAD + "tasks:\n  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n"
        "    duration: P1W\n",
        [
            (
                6,
                5,
                "tasks[0].duration",
                "expected an ISO-8601 duration such as PT30S, PT5M, PT1H30M or P1D, got 'P1W'",
            )
        ],
    ),
    "cron_field_out_of_range": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: hourly\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '61 * * * *'\n",
        [
            (
                10,
                5,
                "triggers[0].cron",
                "invalid cron '61 * * * *': a field is out of range or malformed",
            )
        ],
    ),
    "cron_has_too_few_fields": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: daily\n    type: io.kestra.core.models.triggers.types.Schedule\n"
        "    cron: '0 9 * *'\n",
        [
            (
                10,
                5,
                "triggers[0].cron",
                "invalid cron '0 9 * *': expected 5 fields (minute hour "
                "day-of-month month day-of-week) or a macro like @daily, got 4",
            )
        ],
    ),
    "schedule_time_zone_is_unknown": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '@daily'\n    timezone: Mars/Olympus\n",
        [
            (
                11,
                5,
                "triggers[0].timezone",
                "unknown time zone 'Mars/Olympus'; expected an IANA name like Europe/Paris or UTC",
            )
        ],
    ),
    "duplicate_task_id_in_a_nested_branch": (
        HEAD + "tasks:\n  - id: step\n    type: io.kestra.plugin.core.flow.Sequential\n"
        "    tasks:\n      - id: step\n        type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                7,
                9,
                "tasks[0].tasks[0].id",
                "duplicate task id 'step': already used on line 4; task "
                "ids must be unique in the whole flow",
            )
        ],
    ),
    "duplicate_task_id_in_errors": (
        HEAD + "tasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n"
        "errors:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                7,
                5,
                "errors[0].id",
                "duplicate task id 'a': already used on line 4; task ids must be "
                "unique in the whole flow",
            )
        ],
    ),
    "int_input_default_is_not_an_integer": (
        HEAD + "inputs:\n  - id: count\n    type: INT\n    defaults: ten\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                6,
                5,
                "inputs[0].defaults",
                "default of INT input 'count' is invalid: expected an integer, got 'ten'",
            )
        ],
    ),
    "int_input_default_is_below_its_minimum": (
        HEAD + "inputs:\n  - id: count\n    type: INT\n    min: 5\n    defaults: 3\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                7,
                5,
                "inputs[0].defaults",
                "default of INT input 'count' is invalid: 3 is less than the minimum 5",
            )
        ],
    ),
    "select_input_default_is_not_a_choice": (
        HEAD + "inputs:\n  - id: env\n    type: SELECT\n    values: [dev, prod]\n"
        "    defaults: staging\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                7,
                5,
                "inputs[0].defaults",
                "default of SELECT input 'env' is invalid: 'staging' is not one of dev, prod",
            )
        ],
    ),
    "input_type_is_unknown": (
        HEAD + "inputs:\n  - id: name\n    type: string\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                5,
                5,
                "inputs[0].type",
                "unknown type 'string'; expected one of STRING, SECRET, EMAIL, "
                "URI, INT, FLOAT, BOOLEAN, BOOL, SELECT, ENUM, MULTISELECT, DATETIME, DATE, TIME, "
                "DURATION, FILE, JSON, YAML, ARRAY",
            )
        ],
    ),
    "flow_id_and_namespace_have_invalid_characters": (
        "id: my flow\nnamespace: Company.Team\ntasks:\n  - id: t\n"
        "    type: io.kestra.plugin.core.debug.Return\n",
        [
            (
                1,
                1,
                "id",
                "expected letters, digits, '.', '_' and '-', starting with a letter or "
                "digit, got 'my flow'",
            ),
            (
                2,
                1,
                "namespace",
                "expected parts of lower-case letters, digits, '_' and '-' joined by dots "
                "(like company.team), each part starting with a letter or digit, got "
                "'Company.Team'",
            ),
        ],
    ),
    "flow_without_tasks": (
        HEAD + "tasks: []\n",
        [(3, 1, "tasks", "expected at least 1 item")],
    ),
    "flow_without_namespace": (
        "id: broken\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [(1, 1, "namespace", "property 'namespace' is required")],
    ),
    "concurrency_limit_of_zero": (
        HEAD + "concurrency:\n  limit: 0\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [(4, 3, "concurrency.limit", "expected a value greater than or equal to 1, got 0")],
    ),
    "concurrency_behavior_is_unknown": (
        HEAD + "concurrency:\n  limit: 1\n  behavior: DROP\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [(5, 3, "concurrency.behavior", "expected one of QUEUE, CANCEL or FAIL, got 'DROP'")],
    ),
    "dag_depends_on_a_task_that_is_not_there": (
        HEAD + "tasks:\n  - id: dag\n    type: io.kestra.plugin.core.flow.Dag\n    tasks:\n"
        "      - task:\n          id: a\n          type: io.kestra.plugin.core.debug.Return\n"
        "        dependsOn: [b]\n",
        [
            (
                10,
                21,
                "tasks[0].tasks[0].dependsOn[0]",
                "'b' is not a task of this Dag; expected one of a",
            )
        ],
    ),
    "dag_with_a_cycle": (
        HEAD + "tasks:\n  - id: dag\n    type: io.kestra.plugin.core.flow.Dag\n    tasks:\n"
        "      - task: {id: a, type: io.kestra.plugin.core.debug.Return}\n        dependsOn: [b]\n"
        "      - task: {id: b, type: io.kestra.plugin.core.debug.Return}\n        dependsOn: [a]\n",
        [(6, 5, "tasks[0].tasks", "the Dag has a dependency cycle: a -> b -> a")],
    ),
    "switch_case_is_not_a_task_list": (
        HEAD + "tasks:\n  - id: route\n    type: io.kestra.plugin.core.flow.Switch\n"
        "    value: x\n    cases:\n      A: nope\n",
        [(8, 7, "tasks[0].cases.A", "expected a list, got 'nope'")],
    ),
    "status_condition_names_a_state_that_does_not_exist": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n"
        "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    conditions:\n      - type: io.kestra.plugin.core.condition.ExecutionStatusCondition\n"
        "        in: [SUCESS]\n",
        [
            (
                11,
                14,
                "triggers[0].conditions[0].in[0]",
                "expected one of CREATED, QUEUED, RUNNING, PAUSED, RESTARTED, KILLING, SUCCESS, WARNING,"
                " FAILED, KILLED, CANCELLED, RETRYING, RETRIED or SKIPPED, got 'SUCESS'",
            )
        ],
    ),
    "unknown_type_inside_an_unknown_container_is_reported_too": (
        HEAD + "tasks:\n  - id: loop\n    type: io.kestra.plugin.core.flow.Sequencial\n    tasks:\n"
        "      - id: inner\n        type: io.kestra.plugin.beam.RunPipeline\n",
        [
            (
                5,
                5,
                "tasks[0].type",
                "unknown task type 'io.kestra.plugin.core.flow.Sequencial': Weir "
                "does not implement it (Kestra core, package flow); did you mean "
                "io.kestra.plugin.core.flow.Sequential, "
                "io.kestra.plugin.core.flow.EachSequential?",
            ),
            (
                8,
                9,
                "tasks[0].tasks[0].type",
                "unknown task type 'io.kestra.plugin.beam.RunPipeline': Weir does not "
                "implement it (plugin family beam, Kestra's plugin-beam)",
            ),
        ],
    ),
    "label_list_item_without_value": (
        HEAD + "labels:\n  - key: team\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n",
        [(3, 1, "labels", "label 0 must be a mapping with exactly 'key' and 'value'")],
    ),
    "plugin_default_does_not_fill_an_unknown_property": (
        HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
        "pluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values:\n"
        "      mesage: from defaults\n",
        [
            (
                4,
                5,
                "tasks[0].message",
                "property 'message' of io.kestra.plugin.core.log.Log is required",
            ),
            (
                4,
                5,
                "tasks[0].mesage",
                "unknown property 'mesage' of io.kestra.plugin.core.log.Log "
                "(given by pluginDefaults); did you mean 'message'?",
            ),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_flow_reports_place_and_reason(name: str) -> None:
    text, expected = CASES[name]
    assert errors(text) == expected


def test_expression_that_does_not_parse_is_reported_on_its_line() -> None:
    text = HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
    text += '    message: "{{ inputs.name "\n'
    [(line, column, path, message)] = errors(text)
    assert (line, column, path) == (6, 5, "tasks[0].message")
    assert message.startswith("expression does not parse: ")


def test_plugin_defaults_fill_required_properties() -> None:
    text = HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
    text += "pluginDefaults:\n  - type: io.kestra.plugin.core.log\n    values:\n      message: hi\n"
    result = validate_text(text)
    assert result.ok, result.problems
    assert result.flow is not None
    assert result.flow.tasks[0].message == "hi"  # type: ignore[attr-defined]


def test_forced_plugin_defaults_override_the_task() -> None:
    text = HEAD + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: mine\n"
    text += "pluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    forced: true\n"
    text += "    values:\n      message: forced\n"
    result = validate_text(text)
    assert result.flow is not None
    assert result.flow.tasks[0].message == "forced"  # type: ignore[attr-defined]


SUBFLOW_CALLER = HEAD + (
    "tasks:\n  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n"
    "    namespace: company.team\n    flowId: chil\n"
)
CHILD = "id: child\nnamespace: company.team\ntasks:\n  - id: t\n"
CHILD += "    type: io.kestra.plugin.core.debug.Return\n"


def test_subflow_missing_from_an_owned_namespace_is_an_error() -> None:
    results = [validate_text(SUBFLOW_CALLER, "caller.yaml"), validate_text(CHILD, "child.yaml")]
    [problem] = validate_set(results, owned=["company.team"])
    assert (problem.severity.value, str(problem.location), problem.path) == (
        "error",
        "caller.yaml:7:5",
        "tasks[0].flowId",
    )
    assert problem.message == (
        "flow company.team/chil does not exist: namespace company.team is declared here and has "
        "no flow 'chil'; did you mean company.team/child?"
    )


def test_subflow_missing_from_a_namespace_not_owned_is_a_warning() -> None:
    results = [validate_text(SUBFLOW_CALLER, "caller.yaml")]
    [problem] = validate_set(results)
    assert problem.severity.value == "warning"
    assert problem.message.startswith(
        "flow company.team/chil is not among the flows being validated"
    )


def test_legacy_type_names_resolve_to_current_ones() -> None:
    text = HEAD + (
        "tasks:\n  - id: seq\n    type: io.kestra.core.tasks.flows.Sequential\n    tasks:\n"
        "      - id: hello\n        type: io.kestra.core.tasks.log.Log\n        message: hi\n"
        "      - id: call\n        type: io.kestra.core.tasks.flows.Flow\n"
        "        namespace: a\n        flowId: b\n"
        "triggers:\n  - id: s\n    type: io.kestra.core.models.triggers.types.Schedule\n"
        "    cron: '@hourly'\n"
    )
    result = validate_text(text)
    assert result.ok, result.problems
    assert result.flow is not None
    [seq] = result.flow.tasks
    assert seq.type == "io.kestra.plugin.core.flow.Sequential"
    assert [t.type for t in seq.tasks] == [  # type: ignore[attr-defined]
        "io.kestra.plugin.core.log.Log",
        "io.kestra.plugin.core.flow.Subflow",
    ]
    assert result.flow.triggers[0].type == "io.kestra.plugin.core.trigger.Schedule"  # type: ignore[attr-defined]
