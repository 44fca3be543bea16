"""``weir_subflow``: a flow meant to be called by others, whose interface is declared.

Its typed inputs and outputs are attributes, checked at plan time against the source: a caller
can then reference ``weir_subflow.x.inputs`` or ``.flow_id`` in its own flow, which also makes
Terraform create the subflow before its callers and destroy it after them. An input's
``required`` and ``description`` are taken from the source when not declared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controlplane.provider.flows import declared
from controlplane.provider.resources.common import REVISION
from controlplane.provider.resources.flow import (
    CONTENT,
    INPUT_ATTRIBUTES,
    MANAGED_BY,
    OUTPUT_ATTRIBUTES,
    FlowResource,
    key_attributes,
)
from controlplane.provider.runtime.diagnostics import ProviderError
from controlplane.provider.runtime.resource import Plan, State
from controlplane.provider.runtime.schema import Attribute, Nested, Schema
from controlplane.provider.runtime.values import UNKNOWN

if TYPE_CHECKING:
    from controlplane.client.models import Flow


def _from_source(attribute: Attribute) -> Attribute:
    """An optional inner attribute that the source fills in when the configuration does not."""
    if attribute.required:
        return attribute
    return Attribute(
        attribute.name,
        attribute.type,
        attribute.description + " Read from the source when not given.",
        optional=True,
        computed=True,
    )


class SubflowResource(FlowResource):
    type_name = "weir_subflow"
    what = "subflow"
    schema = Schema(
        description="A subflow: a flow with a declared interface (typed inputs and outputs) "
        "that is checked against its YAML source, so that callers can rely on it.",
        attributes=(
            *key_attributes("subflow"),
            CONTENT,
            Attribute(
                "inputs",
                None,
                "The inputs callers pass, in the order the source declares them.",
                required=True,
                nested=Nested(tuple(_from_source(a) for a in INPUT_ATTRIBUTES)),
            ),
            Attribute(
                "outputs",
                None,
                "The outputs callers read, in the order the source declares them.",
                optional=True,
                nested=Nested(OUTPUT_ATTRIBUTES),
            ),
            REVISION,
            MANAGED_BY,
        ),
    )

    def modify_plan(self, plan: Plan) -> None:
        super().modify_plan(plan)
        if not any(plan.changed(name) for name in ("content", "inputs", "outputs")):
            return
        content = plan.planned.get("content")
        inputs = plan.planned.get("inputs")
        if not isinstance(content, str) or not isinstance(inputs, list):
            _unknown_details(inputs)
            return
        source = declared(content)
        _check_inputs(inputs, source.get("inputs") or [])
        outputs = plan.planned.get("outputs")
        if isinstance(outputs, list):
            _check_outputs(outputs, source.get("outputs") or [])

    def plan_interface(self, plan: Plan, content: str) -> None:
        """A subflow's interface is declared in its configuration and checked against the
        source (below), not computed."""

    def state_of(self, found: Flow, prior: State) -> State:
        state = super().state_of(found, prior)
        # Outputs are optional: none declared and none in the source stays null.
        if prior.get("outputs") is None and not found.outputs:
            state["outputs"] = None
        return state


def _unknown_details(inputs: Any) -> None:
    if not isinstance(inputs, list):
        return
    for item in inputs:
        if isinstance(item, dict):
            for name in ("required", "description"):
                if item.get(name) is None:
                    item[name] = UNKNOWN


def _check_inputs(declared: list[Any], found: list[Any]) -> None:
    source = [i for i in found if isinstance(i, dict)]
    if not _same_ids("inputs", declared, [str(i.get("id", i.get("name"))) for i in source]):
        return
    for index, (item, given) in enumerate(zip(declared, source, strict=True)):
        _same(item, "type", str(given.get("type")), ["inputs", index, "type"])
        _fill(item, "required", bool(given.get("required", True)), ["inputs", index, "required"])
        description = given.get("description")
        _fill(item, "description", description, ["inputs", index, "description"])


def _check_outputs(declared: list[Any], found: list[Any]) -> None:
    source = [o for o in found if isinstance(o, dict)]
    if not _same_ids("outputs", declared, [str(o.get("id")) for o in source]):
        return
    for index, (item, given) in enumerate(zip(declared, source, strict=True)):
        _same(item, "type", str(given.get("type")), ["outputs", index, "type"])


def _same_ids(kind: str, declared: list[Any], ids: list[str]) -> bool:
    """Whether the declared ids can be checked yet; refuse them when they differ from ``ids``."""
    wanted = [item.get("id") for item in declared]
    if not all(isinstance(w, str) for w in wanted):
        return False  # known at apply only
    if wanted != ids:
        raise ProviderError(
            f"the declared {kind} differ from the source's",
            f"Declared: {', '.join(wanted) or 'none'}; the source has: "
            f"{', '.join(ids) or 'none'} (the same ids, in the same order).",
            [kind],
        )
    return True


def _same(item: dict[str, Any], name: str, found: str, path: list[str | int]) -> None:
    given = item.get(name)
    if isinstance(given, str) and given != found:
        raise ProviderError(
            f"declared {name} {given} of {item.get('id')} differs from the source's {found}",
            "Change the declaration or the source so that they agree.",
            path,
        )


def _fill(item: dict[str, Any], name: str, found: Any, path: list[str | int]) -> None:
    given = item.get(name)
    if given is None or given is UNKNOWN:
        item[name] = found
    elif given != found:
        raise ProviderError(
            f"declared {name} = {given!r} of input {item.get('id')} differs from the source's "
            f"{found!r}",
            "Change the declaration or the source so that they agree.",
            path,
        )
