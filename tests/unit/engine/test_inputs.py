"""Typed inputs of a new execution, and what a FILE input may be given as."""

from __future__ import annotations

import pytest

from controlplane.engine.inputs import InputError, resolve_inputs
from controlplane.expr import Renderer
from controlplane.spec.validate import validate_text

FLOW = """id: typed
namespace: company.team
inputs:
  - id: count
    type: INT
  - id: data
    type: FILE
    required: false
tasks:
  - id: t
    type: io.kestra.plugin.core.debug.Return
    format: x
"""


def resolve(given: dict[str, object]) -> dict[str, object]:
    flow = validate_text(FLOW).flow
    assert flow is not None
    saved: dict[str, bytes] = {}

    def save(input_id: str, data: bytes) -> str:
        saved[input_id] = data
        return f"kestra:///company/team/typed/executions/e/inputs/{input_id}/{input_id}"

    values = resolve_inputs(flow, given, Renderer(), {}, save)
    return {**values, "saved": saved}


def test_inputs_are_coerced_and_file_contents_saved() -> None:
    values = resolve({"count": "3", "data": b"a,b\n"})
    assert values["count"] == 3
    assert values["saved"] == {"data": b"a,b\n"}
    assert str(values["data"]).startswith("kestra:///company/team/typed/")


def test_a_file_path_is_never_read_from_the_servers_disk() -> None:
    with pytest.raises(InputError) as refused:
        resolve({"count": 1, "data": "file:///etc/hostname"})
    assert "file:// path is not read by the server" in refused.value.problems["data"]


def test_every_bad_input_is_reported_at_once() -> None:
    with pytest.raises(InputError) as refused:
        resolve({"count": "many", "data": "file:///x"})
    assert set(refused.value.problems) == {"count", "data"}
