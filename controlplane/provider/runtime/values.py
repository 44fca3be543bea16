"""Terraform values as Python values, and their MessagePack encoding.

Terraform sends every value (a configuration, a state, a plan) as MessagePack in the shape of the
schema: an object is a map holding every attribute, ``null`` is nil, a list or set is an array.
A value not known until apply is a MessagePack extension (type 0, or type 12 when Terraform
adds what it knows about the value, such as "not null"); here it decodes to :data:`UNKNOWN`, and
:data:`UNKNOWN` encodes to type 0. A state being upgraded arrives as JSON instead.
"""

from __future__ import annotations

import json
from typing import Any, Final

import msgpack

from controlplane.provider.gen import tfplugin6_pb2 as pb


class _Unknown:
    """A value Terraform will only know at apply time."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

_UNKNOWN_EXT = msgpack.ExtType(0, b"\x00")
_UNKNOWN_TYPES = (0, 12)


def _ext_hook(code: int, data: bytes) -> Any:
    if code in _UNKNOWN_TYPES:
        return UNKNOWN
    raise ValueError(f"unexpected MessagePack extension type {code} in a Terraform value")


def _default(value: Any) -> Any:
    if value is UNKNOWN:
        return _UNKNOWN_EXT
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} to Terraform")


def decode(value: pb.DynamicValue) -> Any:
    """The Python value of a DynamicValue: dicts, lists, str, int, float, bool, None, UNKNOWN."""
    if value.msgpack:
        return msgpack.unpackb(value.msgpack, ext_hook=_ext_hook, raw=False, strict_map_key=False)
    if value.json:
        return json.loads(value.json)
    return None


def encode(value: Any) -> pb.DynamicValue:
    return pb.DynamicValue(msgpack=msgpack.packb(value, default=_default, use_bin_type=True))
