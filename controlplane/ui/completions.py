"""What the editor completes, from the flow language's own models (the ones ``weir schema flow``
is generated from): the top-level keys of a flow, and for each task, trigger, condition and
task runner type the properties it takes, required ones marked."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from controlplane.spec.flow import Flow
from controlplane.spec.registry import Kind, registry
from controlplane.ui.web import Viewer

router = APIRouter(prefix="/ui/schema")


def _keys(model: type[BaseModel]) -> list[dict[str, Any]]:
    keys = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key != "type":
            keys.append({"key": key, "required": info.is_required()})
    return keys


@cache
def completions() -> dict[str, Any]:
    registry.load_all()
    types: dict[str, Any] = {}
    for kind in Kind:
        for found in registry.types(kind):
            types[found.name] = {"kind": kind.value, "keys": _keys(found.model)}
    return {"flow": _keys(Flow), "types": types}


@router.get("/completions.json")
def read_completions(viewer: Viewer) -> JSONResponse:
    viewer.require("read")
    return JSONResponse(completions(), headers={"Cache-Control": "private, max-age=3600"})
