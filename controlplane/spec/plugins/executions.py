"""Core tasks that act on executions: their variables (``SetVariables``, ``UnsetVariables``), a
count of them (``Count``), resuming a paused one (``Resume``), killing this one (``Kill``), and
switching a flow's trigger on or off (``trigger.Toggle``)."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynBool, DynMap, DynStrList, Spec, Text
from controlplane.spec.plugins.admin import ExecutionStateName
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_EXECUTION = "io.kestra.plugin.core.execution"


@task(f"{_EXECUTION}.SetVariables")
class SetVariables(TaskSpec):
    variables: DynMap
    overwrite: DynBool = True


@task(f"{_EXECUTION}.UnsetVariables")
class UnsetVariables(TaskSpec):
    variables: DynStrList
    ignoreMissing: DynBool = False


class CountedFlow(Spec):
    namespace: str
    flowId: str


@task(f"{_EXECUTION}.Count")
class Count(TaskSpec):
    flows: list[CountedFlow] | None = None
    namespaces: DynStrList | None = None
    states: list[ExecutionStateName] | None = None
    startDate: Text
    endDate: Text | None = None
    expression: Text


@task(f"{_EXECUTION}.Resume")
class Resume(TaskSpec):
    namespace: Text | None = None
    flowId: Text | None = None
    executionId: Text | None = None
    inputs: dict[str, Any] | Text | None = None


@task("io.kestra.plugin.core.trigger.Toggle", "io.kestra.core.tasks.trigger.Toggle")
class Toggle(TaskSpec):
    namespace: Text | None = None
    flowId: Text | None = None
    trigger: Text
    enabled: bool = False


@task(f"{_EXECUTION}.Kill")
class Kill(TaskSpec):
    propagateKill: DynBool = False
