"""The interface of a flow revision: what a read tells of a flow beyond its record (its
description, whether it is disabled, its inputs and outputs), read from the source.

A revision never changes and reads far outnumber writes, so its interface is parsed once and
kept in a bounded cache shared by the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from pydantic import BaseModel

from controlplane.api.flowstream import SOURCE_NAME
from controlplane.engine.ports import FlowRecord
from controlplane.spec.validate import validate_text


class FlowInput(BaseModel):
    id: str
    type: str
    required: bool
    description: str | None


class FlowOutput(BaseModel):
    id: str
    type: str


@dataclass(frozen=True)
class Interface:
    """What a read tells of a flow beyond its record: read from the source."""

    description: str | None
    disabled: bool
    inputs: list[FlowInput]
    outputs: list[FlowOutput]


INTERFACE_CACHE_SIZE = 4096
_interfaces: OrderedDict[tuple[str, str, int, int], Interface] = OrderedDict()
_interfaces_lock = threading.Lock()


def interface(record: FlowRecord) -> Interface:
    """The revision's interface, parsed on its first read and kept for the next ones.

    The key holds the source's hash beside (namespace, id, revision), since stores that share
    this process (a server per test module) may hold different flows under the same revision.
    """
    key = (record.namespace, record.flow_id, record.revision, hash(record.source))
    with _interfaces_lock:
        found = _interfaces.get(key)
        if found is not None:
            _interfaces.move_to_end(key)
            return found
    found = _parse_interface(record.source)
    with _interfaces_lock:
        _interfaces[key] = found
        if len(_interfaces) > INTERFACE_CACHE_SIZE:
            _interfaces.popitem(last=False)
    return found


def _parse_interface(source: str) -> Interface:
    flow = validate_text(source, SOURCE_NAME).flow
    if flow is None:  # saved under rules that were since made stricter: still readable
        return Interface(description=None, disabled=False, inputs=[], outputs=[])
    return Interface(
        description=flow.description,
        disabled=flow.disabled,
        inputs=[
            FlowInput(id=i.id, type=i.type, required=i.required, description=i.description)
            for i in flow.inputs
        ],
        outputs=[FlowOutput(id=o.id, type=o.type) for o in flow.outputs],
    )
