"""Schemas, declared as data: what each attribute of a provider, resource or data source is.

Types are Terraform's type constraints in their JSON form: ``STRING``, ``NUMBER``, ``BOOL``,
``list_of(STRING)``, ``map_of(STRING)``. An attribute with ``nested`` holds objects with their own
attributes (protocol 6 nested attributes), so that inner attributes may be optional.

Beyond what Terraform is told, an attribute says how the provider plans it: ``requires_replace``
(a change destroys and recreates the object), ``volatile`` (a computed value that changes
whenever the object is updated, such as a revision) and ``default`` (the value of an optional,
computed attribute left unset).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from controlplane.provider.gen import tfplugin6_pb2 as pb
from controlplane.provider.runtime.values import UNKNOWN

Type = str | list[Any]
STRING: Type = "string"
NUMBER: Type = "number"
BOOL: Type = "bool"


def list_of(element: Type) -> Type:
    return ["list", element]


def map_of(element: Type) -> Type:
    return ["map", element]


Nesting = Literal["single", "list", "set", "map"]
_NESTING = {
    "single": pb.Schema.Object.SINGLE,
    "list": pb.Schema.Object.LIST,
    "set": pb.Schema.Object.SET,
    "map": pb.Schema.Object.MAP,
}
_NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class Attribute:
    name: str
    type: Type | None
    description: str
    required: bool = False
    optional: bool = False
    computed: bool = False
    sensitive: bool = False
    write_only: bool = False
    deprecated: bool = False
    requires_replace: bool = False
    volatile: bool = False
    default: Any = _NO_DEFAULT
    nested: Nested | None = None

    def __post_init__(self) -> None:
        if (self.type is None) == (self.nested is None):
            raise ValueError(f"attribute {self.name}: give a type or nested attributes")
        if not (self.required or self.optional or self.computed):
            raise ValueError(f"attribute {self.name}: required, optional or computed")

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def configurable(self) -> bool:
        return self.required or self.optional

    def to_proto(self) -> pb.Schema.Attribute:
        message = pb.Schema.Attribute(
            name=self.name,
            description=self.description,
            description_kind=pb.MARKDOWN,
            required=self.required,
            optional=self.optional,
            computed=self.computed,
            sensitive=self.sensitive,
            write_only=self.write_only,
            deprecated=self.deprecated,
        )
        if self.nested is not None:
            message.nested_type.CopyFrom(self.nested.to_proto())
        else:
            message.type = json.dumps(self.type).encode()
        return message


@dataclass(frozen=True)
class Nested:
    attributes: tuple[Attribute, ...]
    nesting: Nesting = "list"

    def to_proto(self) -> pb.Schema.Object:
        return pb.Schema.Object(
            attributes=[a.to_proto() for a in self.attributes], nesting=_NESTING[self.nesting]
        )


@dataclass(frozen=True)
class Schema:
    attributes: tuple[Attribute, ...]
    description: str = ""
    version: int = 0
    by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attributes})

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def to_proto(self) -> pb.Schema:
        block = pb.Schema.Block(
            version=self.version,
            attributes=[a.to_proto() for a in self.attributes],
            description=self.description,
            description_kind=pb.MARKDOWN,
        )
        return pb.Schema(version=self.version, block=block)


def conform(attributes: tuple[Attribute, ...], value: Any) -> Any:
    """``value`` with exactly the attributes declared: missing ones null, unknown keys dropped.
    Terraform refuses an object that lacks an attribute, so every answer goes through this."""
    if not isinstance(value, dict):
        return value
    shaped: dict[str, Any] = {}
    for attribute in attributes:
        item = value.get(attribute.name)
        if attribute.nested is not None and item is not None and item is not UNKNOWN:
            item = _conform_nested(attribute.nested, item)
        shaped[attribute.name] = item
    return shaped


def _conform_nested(nested: Nested, value: Any) -> Any:
    if nested.nesting == "single":
        return conform(nested.attributes, value)
    if nested.nesting == "map":
        return {key: conform(nested.attributes, item) for key, item in value.items()}
    return [conform(nested.attributes, item) for item in value]
