"""The types of a KV pair's value, and the one a value sent without a type gets — the same rule
for the API and for the tools that compare a declared value with a stored one (the GitOps
reconciler)."""

from __future__ import annotations

from typing import Any, Literal, get_args

KvType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]
KV_TYPES: tuple[str, ...] = get_args(KvType)


def inferred_type(value: Any) -> KvType:
    """The type of a JSON value sent without one."""
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    return "JSON"
