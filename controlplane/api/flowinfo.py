"""The interface of a flow revision: what a read tells of a flow beyond its record (its
description, whether it is disabled, its inputs and outputs), read from the source.

A revision never changes and reads far outnumber writes, so its interface is parsed once and
kept in a bounded cache shared by the process. The source was validated when it was saved, so
the interface is read from its YAML alone, without validating every task again: reading a
namespace of a thousand flows costs a thousand YAML loads, not a thousand validations.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import yaml
from pydantic import BaseModel

from controlplane.engine.ports import FlowRecord
from controlplane.spec.interface import declared_interface


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


INTERFACE_CACHE_SIZE = 16384
_interfaces: OrderedDict[tuple[str, str, int, datetime], Interface] = OrderedDict()
_interfaces_lock = threading.Lock()


def interface(record: FlowRecord) -> Interface:
    """The revision's interface, parsed on its first read and kept for the next ones.

    The key holds when the revision was saved beside (namespace, id, revision), since stores
    that share this process (a server per test module) may hold different flows under the same
    revision. (The source's hash would do too, but hashing a thousand sources read afresh was a
    fifth of the cost of listing a thousand flows.)
    """
    key = (record.namespace, record.flow_id, record.revision, record.updated)
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
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(source, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError:
        data = None
    found = declared_interface(data)
    return Interface(
        description=found.description,
        disabled=found.disabled,
        inputs=[FlowInput(**vars(item)) for item in found.inputs],
        outputs=[FlowOutput(**vars(item)) for item in found.outputs],
    )
