"""Subflow contracts: who calls whom, and whether a call still fits the flow it calls.

A flow *references* another through a Subflow or ForEachItem task (a *call*, which passes
inputs) or through a Flow trigger's condition or precondition. :func:`references` reads them
from a flow's YAML as a mapping, not from the validated model, so that the server can index a
flow saved under older rules, and so that ForEachItem and legacy type names count too.

A flow's *contract* is its declared inputs (:func:`contract_of`). :func:`check_caller` checks
every call of one caller against the contracts it is given and returns a :class:`Breach` per
call that would fail at run time: an input passed that the subflow does not declare, a required
input (without a default) that is not passed, a literal value of the wrong type, or a call to a
flow that is gone. The Terraform provider, ``weir validate --server`` and ``weir gitops plan``
all run this one check, each over its own files and the server's callers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.expr import has_expression
from controlplane.spec.problems import Location, YamlPath
from controlplane.spec.source import SourceDocument

CALL_TYPES = {
    "io.kestra.plugin.core.flow.Subflow": "subflow",
    "io.kestra.core.tasks.flows.Subflow": "subflow",
    "io.kestra.core.tasks.flows.Flow": "subflow",
    "io.kestra.plugin.core.flow.ForEachItem": "foreach",
    "io.kestra.core.tasks.flows.ForEachItem": "foreach",
}
FLOW_TRIGGER_TYPES = frozenset(
    {"io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow"}
)
FlowKey = tuple[str, str]
"""``(namespace, flow id)``."""


@dataclass(frozen=True)
class Reference:
    namespace: str
    flow_id: str
    kind: str
    """``subflow``, ``foreach`` (both pass inputs) or ``trigger``."""
    path: YamlPath
    """Where the reference is: the task, or the condition naming the flow."""
    inputs: Mapping[str, Any] | None = None

    @property
    def target(self) -> FlowKey:
        return (self.namespace, self.flow_id)


def references(data: Any) -> list[Reference]:
    """Every literal (expression-free) reference of a flow document to another flow."""
    if not isinstance(data, dict):
        return []
    return list(_walk(data, ()))


def _walk(node: Any, path: YamlPath) -> Iterator[Reference]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, (*path, index))
        return
    if not isinstance(node, dict):
        return
    kind = CALL_TYPES.get(str(node.get("type")))
    if kind is not None:
        target = _literal_target(node)
        if target is not None:
            inputs = node.get("inputs")
            passed = inputs if isinstance(inputs, dict) else {}
            yield Reference(*target, kind, path, passed)
    if str(node.get("type")) in FLOW_TRIGGER_TYPES:
        yield from _trigger_references(node, path)
        return
    for name, value in node.items():
        if isinstance(value, dict | list):
            yield from _walk(value, (*path, name))


def _trigger_references(trigger: dict[str, Any], path: YamlPath) -> Iterator[Reference]:
    conditions = trigger.get("conditions")
    places: list[tuple[YamlPath, Any]] = []
    if isinstance(conditions, list):
        places += [((*path, "conditions", i), c) for i, c in enumerate(conditions)]
    preconditions = trigger.get("preconditions")
    upstream = preconditions.get("flows") if isinstance(preconditions, dict) else None
    if isinstance(upstream, list):
        places += [((*path, "preconditions", "flows", i), f) for i, f in enumerate(upstream)]
    for where, item in places:
        target = _literal_target(item) if isinstance(item, dict) else None
        if target is not None:
            yield Reference(*target, "trigger", where)


def _literal_target(node: dict[str, Any]) -> FlowKey | None:
    namespace, flow_id = node.get("namespace"), node.get("flowId")
    if not isinstance(namespace, str) or not isinstance(flow_id, str):
        return None
    if has_expression(namespace) or has_expression(flow_id):
        return None
    return (namespace, flow_id)


@dataclass(frozen=True)
class Contract:
    """What a flow asks of its callers: each input's type and whether it must be passed."""

    ref: str
    inputs: Mapping[str, tuple[str, bool]]
    """input id -> (TYPE, needed): needed when required and without a default."""


def contract_of(data: Any) -> Contract | None:
    """The contract a flow document declares; None when it is not a flow mapping."""
    if not isinstance(data, dict):
        return None
    ref = f"{data.get('namespace')}/{data.get('id')}"
    declared: dict[str, tuple[str, bool]] = {}
    for item in data.get("inputs") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        needed = item.get("required", True) is not False and item.get("defaults") is None
        declared[item["id"]] = (str(item.get("type", "STRING")).upper(), needed)
    return Contract(ref, declared)


@dataclass(frozen=True)
class Breach:
    subflow: str
    caller: str
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.caller} {self.message}"


Contracts = Mapping[FlowKey, Contract | None]
"""The flows calls are checked against; None for a flow that is gone (deleted)."""


def check_caller(
    caller: SourceDocument, contracts: Contracts, previous: Contracts | None = None
) -> list[Breach]:
    """Each call of ``caller`` to a flow in ``contracts`` that does not fit its contract. With
    the ``previous`` contracts, an input passed as an expression whose type changes is one
    too: what the expression gives fitted the old type, not necessarily the new one."""
    data = caller.data
    name = f"{data.get('namespace')}/{data.get('id')}" if isinstance(data, dict) else "?"
    found: list[Breach] = []
    for ref in references(data):
        if ref.target not in contracts:
            continue
        contract = contracts[ref.target]
        target = f"{ref.namespace}/{ref.flow_id}"
        where = caller.locate((*ref.path, "flowId"))
        if contract is None:
            what = "calls" if ref.kind != "trigger" else "is triggered by"
            found.append(Breach(target, name, where, f"{what} {target}, which is deleted"))
            continue
        if ref.inputs is None:
            continue
        before = (previous or {}).get(ref.target)
        for message, path in _misfits(ref, contract, before):
            found.append(Breach(target, name, caller.locate(path), message))
    return found


def _misfits(
    ref: Reference, contract: Contract, before: Contract | None
) -> Iterator[tuple[str, YamlPath]]:
    passed = ref.inputs or {}
    for input_id, value in passed.items():
        at = (*ref.path, "inputs", input_id)
        if input_id not in contract.inputs:
            yield f"passes input '{input_id}', which {contract.ref} does not declare", at
            continue
        expected = contract.inputs[input_id][0]
        was = before.inputs.get(input_id) if before is not None else None
        if was is not None and was[0] != expected and _is_expression(value):
            yield (
                f"passes input '{input_id}', whose type changes from {was[0]} to {expected}",
                at,
            )
        elif not _fits(value, expected):
            given = type(value).__name__
            yield (
                (
                    f"passes input '{input_id}' as a {given} ({value!r}), but {contract.ref} "
                    f"declares it {expected}"
                ),
                at,
            )
    for input_id, (kind, needed) in contract.inputs.items():
        if needed and input_id not in passed:
            yield (
                f"does not pass '{input_id}', a required {kind} input of {contract.ref}",
                (*ref.path, "inputs") if passed else ref.path,
            )


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and has_expression(value)


def _fits(value: Any, expected: str) -> bool:
    """Whether a literal value can be an input of type ``expected``. Expressions are only
    known at run time and always fit."""
    if _is_expression(value):
        return True
    if expected == "INT":
        return _int_like(value)
    if expected == "FLOAT":
        return _int_like(value) or isinstance(value, float) or _float_text(value)
    if expected in ("BOOLEAN", "BOOL"):
        return isinstance(value, bool) or (
            isinstance(value, str) and value.lower() in ("true", "false")
        )
    if expected in ("ARRAY", "MULTISELECT"):
        return isinstance(value, list | str)
    if expected in ("JSON", "YAML", "FILE"):
        return True
    return not isinstance(value, dict | list)


def _int_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _float_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True
