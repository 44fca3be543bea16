"""``flow.Loop``, Kestra's newer loop: its tasks run once per value, and every task inside an
iteration, however deeply nested, sees the iteration as ``item`` (``item.value``, ``item.index``,
and ``item.key`` when the values were a map)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from controlplane.spec.registry import task
from controlplane.spec.tasks import FlowableSpec, Task

LOOP_TYPE = "io.kestra.plugin.core.flow.Loop"


@task(LOOP_TYPE)
class Loop(FlowableSpec):
    values: list[Any] | dict[str, Any] | str
    tasks: list[Task] = Field(min_length=1)
    concurrencyLimit: int = Field(1, ge=0, description="Iterations at once; 0 = all at once.")
