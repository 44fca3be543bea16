"""A flow's outputs: rendered when its execution succeeds, each as its declared type."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controlplane.errors import WeirError
from controlplane.expr import ExpressionError, Renderer
from controlplane.spec.flow import FlowOutput
from controlplane.spec.inputs import INPUT_TYPES


class OutputNotRendered(WeirError):
    code = "output_not_rendered"


def render_outputs(
    outputs: Iterable[FlowOutput], renderer: Renderer, context: Mapping[str, Any]
) -> dict[str, Any]:
    """Every output by id; OutputNotRendered names the first that cannot be rendered."""
    rendered: dict[str, Any] = {}
    values = dict(context)
    for output in outputs:
        try:
            typed = output.type != "STRING"
            value = renderer.render_value(output.value, values, typed=typed)
            rendered[output.id] = coerce_output(output.type, value)
        except (ExpressionError, ValueError) as exc:
            raise OutputNotRendered(
                f"flow output '{output.id}' cannot be rendered: {exc}"
            ) from None
    return rendered


def coerce_output(kind: str, value: Any) -> Any:
    """A flow output as its declared type (ARRAY and FILE are kept as rendered)."""
    if value is None or kind in ("FILE", "ARRAY") or kind not in INPUT_TYPES:
        if kind == "ARRAY" and isinstance(value, str):
            return INPUT_TYPES["JSON"].model_validate({"id": "o", "type": "JSON"}).coerce(value)
        return value
    return INPUT_TYPES[kind].model_validate({"id": "output", "type": kind}).coerce(value)
