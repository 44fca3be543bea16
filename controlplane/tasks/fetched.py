"""Rows a task read, given as Kestra's ``fetchType`` says: ``rows`` (FETCH), ``row``
(FETCH_ONE), an Ion file in internal storage (STORE, ``uri``), or only their count (NONE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.jdbc import FETCH_TYPES
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion


def fetch_type(ctx: RunContext, value: str) -> str:
    rendered = props.text(ctx, value).upper()
    if rendered not in FETCH_TYPES:
        raise TaskFailed(f"'fetchType' must be one of {', '.join(FETCH_TYPES)}, got '{rendered}'")
    return rendered


def fetched(
    ctx: RunContext, kind: str, rows: Sequence[dict[str, Any]], file_name: str
) -> dict[str, Any]:
    """The outputs of ``rows`` fetched as ``kind`` (a checked fetch type); ``size`` always."""
    if kind == "FETCH":
        return {"rows": list(rows), "size": len(rows)}
    if kind == "FETCH_ONE":
        return {"row": rows[0] if rows else None, "size": min(len(rows), 1)}
    if kind == "STORE":
        data = "".join(to_ion(row) + "\n" for row in rows).encode()
        return {"uri": ctx.put_file(file_name, data), "size": len(rows)}
    return {"size": len(rows)}
