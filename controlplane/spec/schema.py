"""The JSON Schema of the flow language, for editors running yaml-language-server.

Built from the same pydantic models that validate flows: the flow document, one definition per
registered task, trigger, condition and task-runner type (its ``type`` listing the current name and
every older name Weir accepts), and the ``task`` / ``trigger`` / ``condition`` / ``taskRunner``
definitions that the models reference.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from controlplane.spec.flow import Flow
from controlplane.spec.registry import Kind, legacy_names, registry
from controlplane.spec.tasks import SCHEMA_REF

SCHEMA_ID = "https://weir.dev/schemas/flow.json"
_ALWAYS_WRITTEN = {"id", "type"}


def flow_schema() -> dict[str, Any]:
    infos = [info for kind in Kind for info in registry.types(kind)]
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (Flow, "validation"),
        *((info.model, "validation") for info in infos),
    ]
    refs, top = models_json_schema(models, ref_template="#/$defs/{model}")
    definitions: dict[str, Any] = top.get("$defs", {})
    by_kind: dict[Kind, list[tuple[list[str], str]]] = {kind: [] for kind in Kind}
    for info in infos:
        ref = refs[(info.model, "validation")]["$ref"]
        definition = definitions[ref.rsplit("/", 1)[-1]]
        names = list(dict.fromkeys([info.name, *info.aliases, *legacy_names(info.kind, info.name)]))
        definition.setdefault("properties", {})["type"] = {
            "type": "string",
            "enum": names,
            "description": info.name,
        }
        definition["title"] = info.short_name
        # A flow's pluginDefaults may supply any other property (a shared `url`, a token), and
        # the schema cannot see them: only what a flow must write itself stays required.
        required = [name for name in definition.get("required", []) if name in _ALWAYS_WRITTEN]
        if required:
            definition["required"] = required
        else:
            definition.pop("required", None)
        by_kind[info.kind].append((names, ref))
    for kind, branches in by_kind.items():
        definitions[kind.value] = _dispatch_on_type(kind, branches)
    flow_ref = refs[(Flow, "validation")]["$ref"].rsplit("/", 1)[-1]
    root = dict(definitions.pop(flow_ref))
    schema: dict[str, Any] = _resolve_kind_refs(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
            **root,
            "title": "Weir flow",
            "description": "A flow in Kestra's flow language, as Weir validates and runs it.",
            "$defs": definitions,
        }
    )
    return schema


def _dispatch_on_type(kind: Kind, branches: list[tuple[list[str], str]]) -> dict[str, Any]:
    """One ``if``/``then`` per type: a validator checks only the branch the ``type`` selects."""
    every = [name for names, _ in branches for name in names]
    return {
        "type": "object",
        "description": f"A {kind.value}: its ``type`` selects its properties.",
        "required": ["type"],
        "properties": {"type": {"type": "string", "enum": every}},
        "allOf": [
            {
                "if": {"properties": {"type": {"enum": names}}, "required": ["type"]},
                "then": {"$ref": ref},
            }
            for names, ref in branches
        ],
    }


def _resolve_kind_refs(node: Any) -> Any:
    """Turn the placeholders of ``spec.tasks`` into references to the per-kind definitions."""
    if isinstance(node, dict):
        if set(node) == {SCHEMA_REF}:
            return {"$ref": f"#/$defs/{node[SCHEMA_REF]}"}
        return {key: _resolve_kind_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_kind_refs(item) for item in node]
    return node
