"""The one subflow contract check: references read from YAML, and each misfit of a call."""

from __future__ import annotations

from controlplane.spec.contracts import check_caller, contract_of, references
from controlplane.spec.source import load_source

SUBFLOW = """id: load
namespace: lib
inputs:
  - id: table
    type: STRING
  - id: days
    type: INT
    defaults: 7
  - id: full
    type: BOOLEAN
    required: false
tasks: []
"""


def caller(inputs: str, kind: str = "io.kestra.plugin.core.flow.Subflow") -> str:
    return f"""id: nightly
namespace: team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1]
    tasks:
      - id: call
        type: {kind}
        namespace: lib
        flowId: load
        inputs:
{inputs}
triggers:
  - id: after
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      flows:
        - namespace: lib
          flowId: load
  - id: dynamic
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: "{{{{ vars.ns }}}}"
        flowId: load
"""


def breaches(inputs: str, subflow: str | None = SUBFLOW, **options: str) -> list[str]:
    doc = load_source(caller(inputs, **options), "nightly.yaml")
    contract = contract_of(load_source(subflow).data) if subflow is not None else None
    return [
        f"{b.location.line}: {b.message}" for b in check_caller(doc, {("lib", "load"): contract})
    ]


def test_references_are_calls_and_literal_flow_triggers() -> None:
    found = references(load_source(caller("          table: t")).data)
    assert [(r.kind, r.path, r.target) for r in found] == [
        ("subflow", ("tasks", 0, "tasks", 0), ("lib", "load")),
        ("trigger", ("triggers", 0, "preconditions", "flows", 0), ("lib", "load")),
    ]
    assert found[0].inputs == {"table": "t"}
    each = references(
        load_source(caller("          table: t", "io.kestra.plugin.core.flow.ForEachItem")).data
    )
    assert each[0].kind == "foreach"


def test_a_call_that_fits_has_no_breach() -> None:
    assert breaches("          table: orders\n          days: 3\n          full: 'true'") == []
    assert breaches('          table: "{{ inputs.t }}"\n          days: "{{ inputs.d }}"') == []


def test_each_misfit_is_one_breach_at_its_line() -> None:
    assert breaches("          tabel: orders\n          days: many\n          full: [1]") == [
        "13: passes input 'tabel', which lib/load does not declare",
        "14: passes input 'days' as a str ('many'), but lib/load declares it INT",
        "15: passes input 'full' as a list ([1]), but lib/load declares it BOOLEAN",
        "12: does not pass 'table', a required STRING input of lib/load",
    ]


def test_a_deleted_flow_breaks_its_calls_and_triggers() -> None:
    assert breaches("          table: t", subflow=None) == [
        "11: calls lib/load, which is deleted",
        "20: is triggered by lib/load, which is deleted",
    ]


def test_an_expression_passed_to_an_input_whose_type_changes_is_a_breach() -> None:
    doc = load_source(caller('          table: t\n          days: "{{ inputs.d }}"'))
    before = contract_of(load_source(SUBFLOW).data)
    after = contract_of(load_source(SUBFLOW.replace("type: INT", "type: DURATION")).data)
    (found,) = check_caller(doc, {("lib", "load"): after}, {("lib", "load"): before})
    assert found.message == "passes input 'days', whose type changes from INT to DURATION"
