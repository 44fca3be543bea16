"""A flow's interface read from its YAML alone: description, disabled, inputs and outputs.

The server answers it with every read of a flow, and the Terraform provider plans it from the
source it is given; both read it here, so what a plan shows is what the apply returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeclaredInput:
    id: str
    type: str
    required: bool
    description: str | None


@dataclass(frozen=True)
class DeclaredOutput:
    id: str
    type: str


@dataclass(frozen=True)
class Declared:
    description: str | None = None
    disabled: bool = False
    inputs: list[DeclaredInput] = field(default_factory=list)
    outputs: list[DeclaredOutput] = field(default_factory=list)


def declared_interface(data: Any) -> Declared:
    """The interface of a loaded flow document; empty when it is not a mapping (a flow saved
    under rules since made stricter is still readable)."""
    if not isinstance(data, dict):
        return Declared()
    return Declared(
        description=_text(data.get("description")),
        disabled=data.get("disabled") is True,
        inputs=[
            DeclaredInput(
                id=str(item.get("id", item.get("name"))),
                type=str(item.get("type")),
                required=item.get("required", True) is not False,
                description=_text(item.get("description")),
            )
            for item in _items(data.get("inputs"))
        ],
        outputs=[
            DeclaredOutput(id=str(item.get("id")), type=str(item.get("type")))
            for item in _items(data.get("outputs"))
        ],
    )


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
